// The raw tables' contract on DuckDB: exactly the columns a Pub/Sub BigQuery subscription writes
// (DESIGN.md). Production creates them with the subscription (deploy/); locally whoever writes
// them first (the ingest sink, `sightline load`, the runner) creates them with this DDL.
import type { DuckDBConnection } from "@duckdb/node-api";
import { attachDataset, qualifiedName } from "./database.ts";

export const RAW_EVENTS_TABLE = "raw_detection_events";
export const INVALID_EVENTS_TABLE = "invalid_detection_events";

export function rawTablesDdl(rawSchema: string): string[] {
  return [
    `create table if not exists ${qualifiedName(rawSchema, RAW_EVENTS_TABLE)} (
      subscription_name varchar not null,
      message_id varchar not null,
      publish_time timestamp not null,
      attributes json,
      detection_oid bigint not null,
      video_camera_oid bigint not null,
      geographical_location_oid bigint not null,
      item_name varchar not null,
      timestamp_detected bigint not null
    )`,
    `create table if not exists ${qualifiedName(rawSchema, INVALID_EVENTS_TABLE)} (
      subscription_name varchar not null,
      message_id varchar not null,
      publish_time timestamp not null,
      attributes json,
      data varchar
    )`,
  ];
}

/** Creates the raw tables where missing, in the raw dataset's own file (attached first if it is not yet). */
export async function ensureRawTables(connection: DuckDBConnection, rawSchema: string): Promise<void> {
  await attachDataset(connection, rawSchema);
  for (const statement of rawTablesDdl(rawSchema)) await connection.run(statement);
}
