// `sightline deploy`: every part's resources in dependency order, planned against the project with
// the official clients, applied on request. Order matters where GCP checks at creation time: the
// BigQuery subscription is created only once Pub/Sub's service agent may write the raw table.
import { bigqueryResources } from "./bigquery_resources.ts";
import { datasetProvider, tableProvider } from "./bigquery_provider.ts";
import { createClients, projectNumber, type Clients } from "./clients.ts";
import { cloudRunDeployCommand, secretResources, shellLine } from "./cloud_run.ts";
import { dataformProviders } from "./dataform_provider.ts";
import { dataformResources } from "./dataform_resources.ts";
import { bindingProvider, grantTargets, secretProvider, serviceAccountProvider } from "./iam_provider.ts";
import { bindingResources, serviceAccountResources } from "./iam_resources.ts";
import { alertPolicyProvider, logMetricProvider } from "./monitoring_provider.ts";
import { alertPolicyResources, logMetricResources } from "./monitoring_resources.ts";
import { defaultBucket, INGEST_TOKENS_SECRET, LOCATIONS_OBJECT } from "./names.ts";
import { apply, describePlan, plan, type Change, type Provider, type Resource } from "./plan.ts";
import { subscriptionProvider, topicProvider } from "./pubsub_provider.ts";
import { pubsubResources } from "./pubsub_resources.ts";
import { bucketProvider, objectProvider, storageResources } from "./storage.ts";

export interface DeployConfig {
  project: string;
  region: string;
  /** Bucket for Dataset B; default "<project>-sightline". */
  bucket?: string;
  /** Dataset B as Parquet on this machine, uploaded when its bytes differ from the bucket's copy. */
  locationsFile?: string;
  /** The Git remote Dataform compiles (this clone's origin by default, see the CLI). */
  gitUrl: string;
  /** A Secret Manager secret version holding a token Dataform reads the Git remote with. */
  gitTokenSecretVersion?: string;
  notificationChannels?: string[];
  /** Every API at one plain-HTTP stand-in (tests only). */
  endpoint?: string;
}

export interface Deployment {
  changes: Change[];
  describe(): string[];
  apply(): Promise<void>;
  close(): Promise<void>;
}

/** The whole of production, dependencies first. */
export function productionResources(config: DeployConfig & { projectNumber: string }): Resource[] {
  const bucket = config.bucket ?? defaultBucket(config.project);
  const pubsub = pubsubResources(config);
  const isRawSubscription = (r: Resource) => r.kind === "pubsub.subscription" && "bigqueryConfig" in r.body;
  const grants = bindingResources({ ...config, bucket });
  const onSubscriptions = (r: Resource) => (r.body.target as { kind: string }).kind === "pubsub.subscription";
  return [
    ...serviceAccountResources(config.project),
    ...bigqueryResources(config),
    ...pubsub.filter((r) => !isRawSubscription(r)),
    ...storageResources({ region: config.region, bucket, locationsFile: config.locationsFile }),
    ...secretResources(config),
    ...logMetricResources(config),
    ...grants.filter((r) => !onSubscriptions(r)),
    ...pubsub.filter(isRawSubscription),
    ...grants.filter(onSubscriptions),
    ...dataformResources({ ...config, bucket }),
    ...alertPolicyResources(config),
  ];
}

export function productionProviders(clients: Clients, files: Record<string, string>): Provider[] {
  return [
    serviceAccountProvider(clients.iam, clients.project),
    datasetProvider(clients.bigquery),
    tableProvider(clients.bigquery),
    topicProvider(clients.pubsub),
    subscriptionProvider(clients.pubsub),
    bucketProvider(clients.storage),
    objectProvider(clients.storage, files),
    secretProvider(clients.secretManager),
    logMetricProvider(clients.logging, clients.project),
    bindingProvider(grantTargets(clients)),
    ...dataformProviders(clients.dataform, clients.dataformProtos),
    alertPolicyProvider(clients.alertPolicies, clients.monitoringProtos, clients.project),
  ];
}

export async function deployPlan(config: DeployConfig): Promise<Deployment> {
  const clients = createClients(config);
  const bucket = config.bucket ?? defaultBucket(config.project);
  const files = config.locationsFile ? { [`${bucket}/${LOCATIONS_OBJECT}`]: config.locationsFile } : {};
  const providers = productionProviders(clients, files);
  let changes: Change[];
  try {
    const number = await projectNumber(clients);
    changes = await plan(productionResources({ ...config, projectNumber: number }), providers);
  } catch (error) {
    await clients.close();
    throw new Error(`could not read the project's resources (${(error as Error).message.split("\n")[0]}): authenticate with \`gcloud auth application-default login\` and check the project id`);
  }
  return {
    changes,
    describe: () => [
      ...describePlan(changes),
      ...(config.locationsFile ? [] : [`Dataset B: not uploaded (pass --locations B.parquet to put it at gs://${bucket}/${LOCATIONS_OBJECT})`]),
      "",
      "then, once: the cameras' tokens (comma-separated) and the ingest service, built from the Dockerfile by Cloud Build:",
      `  printf '%s' "TOKEN1,TOKEN2" | gcloud secrets versions add ${INGEST_TOKENS_SECRET} --project=${config.project} --data-file=-`,
      `  ${shellLine(cloudRunDeployCommand(config))}`,
    ],
    apply: () => apply(changes, providers),
    close: () => clients.close(),
  };
}
