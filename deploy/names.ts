// Names production and the local stack share: the Pub/Sub resources, the datasets and the raw table.
export const RAW_TOPIC = "raw-detections";
export const INGEST_DEAD_LETTER_TOPIC = "ingest-dead-letters";
/** The BigQuery subscription's own dead-letter topic (messages it could not write after 5 attempts). */
export const RAW_DEAD_LETTER_TOPIC = "raw-detections-dead-letters";
export const RAW_SUBSCRIPTION = "raw-detections-bigquery";
/** Subscriptions that keep dead letters, so they can be read and replayed. */
export const INGEST_DEAD_LETTER_SUBSCRIPTION = "ingest-dead-letters-kept";
export const RAW_DEAD_LETTER_SUBSCRIPTION = "raw-detections-dead-letters-kept";
export const RAW_DATASET = "detections_raw";
export const RAW_TABLE = "raw_detection_events";
export const SEVEN_DAYS_SECONDS = 7 * 24 * 3600;
/** Service accounts Sightline creates: the ingest service's identity and the one Dataform runs as. */
export const INGEST_SERVICE_ACCOUNT = "sightline-ingest";
export const DATAFORM_SERVICE_ACCOUNT = "sightline-dataform";
export const serviceAccountEmail = (id: string, project: string) => `${id}@${project}.iam.gserviceaccount.com`;
/** Secret Manager secret holding the cameras' bearer tokens (the service's AUTH_TOKENS). */
export const INGEST_TOKENS_SECRET = "sightline-ingest-tokens";
export const INGEST_SERVICE = "sightline-ingest";
/** Dataset B's object in the bucket; workflow_settings.yaml's locations_uri points at it in production. */
export const LOCATIONS_OBJECT = "geographical_locations.parquet";
export const defaultBucket = (project: string) => `${project}-sightline`;
export const DATAFORM_REPOSITORY = "sightline";
