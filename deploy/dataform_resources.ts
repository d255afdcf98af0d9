// Dataform in production, as Dataform API request bodies: a release configuration compiling `main`
// for BigQuery, and workflow configurations that run its actions by tag on their own schedules.
// (Bodies only so far: `sightline deploy` does not apply them yet.)
import type { CompiledGraph } from "../runner/graph.ts";
import { RAW_DATASET } from "./names.ts";

export interface DataformConfig {
  project: string;
  region: string;
  /** The Dataform repository connected to this Git repository. */
  repository?: string;
  /** Bucket holding Dataset B's Parquet object. */
  bucket: string;
  serviceAccount?: string;
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
  const repository = `projects/${config.project}/locations/${config.region}/repositories/${config.repository ?? "sightline"}`;
  const serviceAccount = config.serviceAccount ?? `sightline-dataform@${config.project}.iam.gserviceaccount.com`;
  const releaseConfig = {
    name: `${repository}/releaseConfigs/${RELEASE_CONFIG}`,
    gitCommitish: "main",
    // The same vars as workflow_settings.yaml, with production's values.
    codeCompilationConfig: {
      defaultDatabase: config.project,
      defaultLocation: config.region,
      vars: { warehouse: "bigquery", raw_dataset: RAW_DATASET, locations_uri: `gs://${config.bucket}/geographical_locations.parquet` },
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
  return { releaseConfig, workflowConfigs };
}

/** Tags the workflows select that no action of the compiled graph carries (each would run nothing). */
export function unknownTags(graph: CompiledGraph, tags: readonly string[]): string[] {
  const known = new Set([...graph.tables, ...graph.operations, ...graph.assertions].flatMap((action) => action.tags ?? []));
  return tags.filter((tag) => !known.has(tag));
}
