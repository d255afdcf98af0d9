// Dataform in production, as Dataform API (v1) request bodies: the repository connected to this Git
// repository, a release configuration compiling `main` for BigQuery, and workflow configurations that
// run its actions by tag on their own schedules, as Sightline's own service account.
import type { CompiledGraph } from "../runner/graph.ts";
import { DATAFORM_REPOSITORY, DATAFORM_SERVICE_ACCOUNT, LOCATIONS_OBJECT, RAW_DATASET, serviceAccountEmail } from "./names.ts";
import type { Resource } from "./plan.ts";

export interface DataformConfig {
  project: string;
  region: string;
  /** The Dataform repository connected to this Git repository. */
  repository?: string;
  /** Bucket holding Dataset B's Parquet object. */
  bucket: string;
  serviceAccount?: string;
  /** The Git remote Dataform compiles from, and a Secret Manager secret version with a token for it. */
  gitUrl?: string;
  gitTokenSecretVersion?: string;
}

export const RELEASE_CONFIG = "production";

/** Which actions run when. The tags are the ones in definitions/ (a test fails on any other). */
export const WORKFLOWS = [
  // Deduplicated detections every 5 minutes: the dashboards' real-time page reads the materialized
  // view, which needs no schedule; this keeps detection_events close behind it.
  { id: "realtime", tags: ["realtime"], cron: "*/5 * * * *" },
  // Hourly figures once an hour, a few minutes past, when the hour's detections are in.
  { id: "hourly", tags: ["hourly"], cron: "7 * * * *" },
  // Dataset B when a new version may have arrived.
  { id: "locations", tags: ["locations"], cron: "30 3 * * *" },
  // The cross-table checks, weekly (each model's own assertions run with it).
  { id: "weekly-checks", tags: ["checks"], cron: "0 4 * * 1" },
] as const;

export function dataformBodies(config: DataformConfig) {
  const repository = `projects/${config.project}/locations/${config.region}/repositories/${config.repository ?? DATAFORM_REPOSITORY}`;
  const serviceAccount = config.serviceAccount ?? serviceAccountEmail(DATAFORM_SERVICE_ACCOUNT, config.project);
  const releaseConfig = {
    name: `${repository}/releaseConfigs/${RELEASE_CONFIG}`,
    gitCommitish: "main",
    // The same vars as workflow_settings.yaml, with production's values.
    codeCompilationConfig: {
      defaultDatabase: config.project,
      defaultLocation: config.region,
      vars: { warehouse: "bigquery", raw_dataset: RAW_DATASET, locations_uri: `gs://${config.bucket}/${LOCATIONS_OBJECT}` },
    },
    // Recompile hourly (the most often a release configuration does): a merged change is live within the hour.
    cronSchedule: "0 * * * *",
    timeZone: "Etc/UTC",
  };
  const workflowConfigs = WORKFLOWS.map((w) => ({
    name: `${repository}/workflowConfigs/${w.id}`,
    releaseConfig: releaseConfig.name,
    invocationConfig: {
      includedTags: [...w.tags],
      // Only the tagged actions: the real-time run must not reload Dataset B or rebuild rollups.
      transitiveDependenciesIncluded: false,
      transitiveDependentsIncluded: false,
      fullyRefreshIncrementalTablesEnabled: false,
      serviceAccount,
    },
    cronSchedule: w.cron,
    timeZone: "Etc/UTC",
  }));
  const repositoryBody = {
    gitRemoteSettings: {
      url: config.gitUrl ?? "",
      defaultBranch: "main",
      ...(config.gitTokenSecretVersion ? { authenticationTokenSecretVersion: config.gitTokenSecretVersion } : {}),
    },
    // Runs that name no service account of their own act as this one, never as Dataform's agent.
    serviceAccount,
  };
  return { repository: { name: repository, ...repositoryBody }, releaseConfig, workflowConfigs };
}

/** The same bodies as plan resources, the repository first. Names are full resource names. */
export function dataformResources(config: DataformConfig): Resource[] {
  if (!config.gitUrl) throw new Error("the Dataform repository needs the Git remote it compiles from: pass --git-url");
  const { repository, releaseConfig, workflowConfigs } = dataformBodies(config);
  const resource = (kind: string, { name, ...body }: { name: string } & Record<string, unknown>): Resource => ({ kind, name, body });
  return [resource("dataform.repository", repository), resource("dataform.releaseConfig", releaseConfig), ...workflowConfigs.map((w) => resource("dataform.workflowConfig", w))];
}

/** Tags the workflows select that no action of the compiled graph carries (each would run nothing). */
export function unknownTags(graph: CompiledGraph, tags: readonly string[]): string[] {
  const known = new Set([...graph.tables, ...graph.operations, ...graph.assertions].flatMap((action) => action.tags ?? []));
  return tags.filter((tag) => !known.has(tag));
}
