// What production needs from BigQuery before the first Dataform run: the three datasets in the region
// and the raw table the BigQuery subscription writes (Dataform declares it; it does not create it).
// Bodies are the REST API's Dataset and Table resources.
import { RAW_DATASET, RAW_TABLE, SEVEN_DAYS_SECONDS } from "./names.ts";
import type { Resource } from "./plan.ts";

export interface BigQueryConfig {
  project: string;
  region: string;
  /** Datasets of the models and of the assertions (workflow_settings.yaml's defaults). */
  dataset?: string;
  assertionDataset?: string;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * The raw table holds exactly what a subscription with use_table_schema and write_metadata writes:
 * the metadata columns, then the event's fields by name. Event fields are REQUIRED, so a message
 * missing one fails to write and goes to the dead-letter topic after 5 attempts instead of landing
 * half empty.
 */
export const RAW_SCHEMA = [
  { name: "subscription_name", type: "STRING", mode: "REQUIRED" },
  { name: "message_id", type: "STRING", mode: "REQUIRED" },
  { name: "publish_time", type: "TIMESTAMP", mode: "REQUIRED" },
  { name: "attributes", type: "JSON", mode: "NULLABLE" },
  { name: "detection_oid", type: "INTEGER", mode: "REQUIRED" },
  { name: "video_camera_oid", type: "INTEGER", mode: "REQUIRED" },
  { name: "geographical_location_oid", type: "INTEGER", mode: "REQUIRED" },
  { name: "item_name", type: "STRING", mode: "REQUIRED", maxLength: "5000" },
  { name: "timestamp_detected", type: "INTEGER", mode: "REQUIRED" },
];

export function bigqueryResources(config: BigQueryConfig): Resource[] {
  const dataset = (id: string, description: string, extra: Record<string, unknown> = {}): Resource => ({
    kind: "bigquery.dataset",
    name: id,
    body: { location: config.region, description, ...extra },
  });
  return [
    // Raw rows live a week (Pub/Sub keeps a week too): partitions older than that are dropped.
    dataset(RAW_DATASET, "Sightline raw detection events as the Pub/Sub BigQuery subscription writes them, and Dataset B.", {
      defaultPartitionExpirationMs: String(SEVEN_DAYS_SECONDS * 1000),
    }),
    // Processed data: a year in all. Partitions unchanged for 90 days bill at the long-term rate by
    // themselves, so "30 days hot" needs no move (see docs/production.md).
    dataset(config.dataset ?? "detections", "Sightline models: deduplicated and enriched detections, rollups, top items, data quality.", {
      defaultPartitionExpirationMs: String(365 * DAY_MS),
    }),
    dataset(config.assertionDataset ?? "detections_assertions", "Sightline data-quality assertions (views Dataform recreates on each run)."),
    {
      kind: "bigquery.table",
      name: `${RAW_DATASET}.${RAW_TABLE}`,
      body: {
        description: "One row per Pub/Sub message on raw-detections, written by the subscription raw-detections-bigquery.",
        schema: { fields: RAW_SCHEMA },
        timePartitioning: { type: "DAY", field: "publish_time", expirationMs: String(SEVEN_DAYS_SECONDS * 1000) },
        // Every scheduled read of the raw table is a publish_time range (the last few minutes of today's
        // partition): clustering on it lets BigQuery skip the rest of the partition's blocks, about
        // 30× fewer bytes billed per run at 10,000 events/s (docs/production.md, "Cost").
        clustering: { fields: ["publish_time"] },
      },
    },
  ];
}
