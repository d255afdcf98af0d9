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
