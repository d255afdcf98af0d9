// `sightline deploy`: every part's resources in dependency order (the BigQuery subscription needs its
// table), planned against the project with the official clients, applied on request.
import { BigQuery } from "@google-cloud/bigquery";
import { PubSub } from "@google-cloud/pubsub";
import { datasetProvider, tableProvider } from "./bigquery_provider.ts";
import { bigqueryResources } from "./bigquery_resources.ts";
import { apply, describePlan, plan, type Change } from "./plan.ts";
import { subscriptionProvider, topicProvider } from "./pubsub_provider.ts";
import { pubsubResources } from "./pubsub_resources.ts";

export interface DeployConfig {
  project: string;
  region: string;
}

/** What is not planned yet; printed with every plan so nobody mistakes it for a full deployment. */
export const NOT_YET_PLANNED = "not planned yet: Cloud Storage (Dataset B), Dataform release and workflow configurations, Cloud Run, service accounts and IAM, alert policies";

export interface Deployment {
  changes: Change[];
  describe(): string[];
  apply(): Promise<void>;
  close(): Promise<void>;
}

export async function deployPlan(config: DeployConfig): Promise<Deployment> {
  // Application Default Credentials (gcloud auth application-default login); PUBSUB_EMULATOR_HOST for Pub/Sub.
  const bigquery = new BigQuery({ projectId: config.project, location: config.region });
  const pubsub = new PubSub({ projectId: config.project });
  const providers = [datasetProvider(bigquery), tableProvider(bigquery), topicProvider(pubsub), subscriptionProvider(pubsub)];
  const resources = [...bigqueryResources(config), ...pubsubResources(config)];
  let changes: Change[];
  try {
    changes = await plan(resources, providers);
  } catch (error) {
    await pubsub.close();
    throw new Error(`could not read the project's resources (${(error as Error).message.split("\n")[0]}): authenticate with \`gcloud auth application-default login\` and check the project id`);
  }
  return {
    changes,
    describe: () => [...describePlan(changes), NOT_YET_PLANNED],
    apply: () => apply(changes, providers),
    close: () => pubsub.close(),
  };
}
