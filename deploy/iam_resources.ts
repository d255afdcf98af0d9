// Who may do what, least privilege: two service accounts of Sightline's own, and each role granted on
// the one resource that needs it rather than on the project wherever the API allows that.
//   ingest service (Cloud Run)  publishes to its two topics, reads its tokens secret;
//   Pub/Sub's service agent     writes the raw table (BigQuery subscription), dead-letters;
//   Dataform's own account      runs queries (the only project-wide role), edits the models' datasets,
//                               loads Dataset B into detections_raw, reads the bucket;
//   Dataform's service agent    may act as Dataform's own account, nothing else.
import {
  DATAFORM_SERVICE_ACCOUNT,
  INGEST_DEAD_LETTER_TOPIC,
  INGEST_SERVICE_ACCOUNT,
  INGEST_TOKENS_SECRET,
  RAW_DATASET,
  RAW_DEAD_LETTER_TOPIC,
  RAW_SUBSCRIPTION,
  RAW_TABLE,
  RAW_TOPIC,
  serviceAccountEmail,
} from "./names.ts";
import type { Resource } from "./plan.ts";

export interface IamConfig {
  project: string;
  /** The project's number: Google's service agents are named after it. */
  projectNumber: string;
  bucket: string;
  dataset?: string;
  assertionDataset?: string;
  /** The Git token's secret version Dataform reads the remote with, if the remote is private. */
  gitTokenSecretVersion?: string;
}

export interface BindingTarget {
  /** A resource kind of the plan ("pubsub.topic", "bigquery.table", …) or "project". */
  kind: string;
  name: string;
}

export function serviceAccountResources(project: string): Resource[] {
  const account = (id: string, displayName: string, description: string): Resource => ({
    kind: "iam.serviceAccount",
    name: serviceAccountEmail(id, project),
    body: { displayName, description },
  });
  return [
    account(INGEST_SERVICE_ACCOUNT, "Sightline ingest", "The Cloud Run ingest service: publishes detection events to Pub/Sub."),
    account(DATAFORM_SERVICE_ACCOUNT, "Sightline Dataform", "Runs Sightline's Dataform workflows in BigQuery."),
  ];
}

export function bindingResources(config: IamConfig): Resource[] {
  const { project } = config;
  const ingest = `serviceAccount:${serviceAccountEmail(INGEST_SERVICE_ACCOUNT, project)}`;
  const dataform = `serviceAccount:${serviceAccountEmail(DATAFORM_SERVICE_ACCOUNT, project)}`;
  const pubsubAgent = `serviceAccount:service-${config.projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;
  const dataformAgent = `serviceAccount:service-${config.projectNumber}@gcp-sa-dataform.iam.gserviceaccount.com`;
  const grant = (member: string, role: string, target: BindingTarget): Resource => ({
    kind: "iam.binding",
    name: `${role} → ${member.split(":")[1]!.split("@")[0]} on ${target.kind} ${target.name}`,
    body: { target, role, member },
  });
  const topic = (name: string) => ({ kind: "pubsub.topic", name });
  const dataset = (name: string) => ({ kind: "bigquery.dataset", name });
  return [
    grant(ingest, "roles/pubsub.publisher", topic(RAW_TOPIC)),
    grant(ingest, "roles/pubsub.publisher", topic(INGEST_DEAD_LETTER_TOPIC)),
    grant(ingest, "roles/secretmanager.secretAccessor", { kind: "secretmanager.secret", name: `projects/${project}/secrets/${INGEST_TOKENS_SECRET}` }),
    // The BigQuery subscription writes as Pub/Sub's service agent: the raw table only.
    grant(pubsubAgent, "roles/bigquery.dataEditor", { kind: "bigquery.table", name: `${RAW_DATASET}.${RAW_TABLE}` }),
    // Dead-lettering needs both: publish to the dead-letter topic, acknowledge on the subscription.
    grant(pubsubAgent, "roles/pubsub.publisher", topic(RAW_DEAD_LETTER_TOPIC)),
    grant(pubsubAgent, "roles/pubsub.subscriber", { kind: "pubsub.subscription", name: RAW_SUBSCRIPTION }),
    // Query jobs are billed to a project: the one role that cannot be narrower.
    grant(dataform, "roles/bigquery.jobUser", { kind: "project", name: project }),
    grant(dataform, "roles/bigquery.dataEditor", dataset(config.dataset ?? "detections")),
    grant(dataform, "roles/bigquery.dataEditor", dataset(config.assertionDataset ?? "detections_assertions")),
    // Reads raw events; replaces geographical_locations (LOAD DATA OVERWRITE) in the same dataset.
    grant(dataform, "roles/bigquery.dataEditor", dataset(RAW_DATASET)),
    grant(dataform, "roles/storage.objectViewer", { kind: "storage.bucket", name: config.bucket }),
    grant(dataformAgent, "roles/iam.serviceAccountTokenCreator", { kind: "iam.serviceAccount", name: serviceAccountEmail(DATAFORM_SERVICE_ACCOUNT, project) }),
    // Dataform's agent fetches the Git remote itself, with the token in this secret.
    ...(config.gitTokenSecretVersion
      ? [grant(dataformAgent, "roles/secretmanager.secretAccessor", { kind: "secretmanager.secret", name: config.gitTokenSecretVersion.replace(/\/versions\/[^/]+$/, "") })]
      : []),
  ];
}
