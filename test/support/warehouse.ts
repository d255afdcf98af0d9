// A real local warehouse for tests: a DuckDB file in a temporary folder, the raw tables, Dataset B
// as Parquet, and helpers to write raw rows and read model tables back.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { timestampValue } from "@duckdb/node-api";
import { openDatabase, sqlString, type Database } from "../../runner/database.ts";
import { plainRows } from "../../runner/execute.ts";
import { ensureRawTables } from "../../runner/raw_tables.ts";
import { locationsFileFor, Transformer } from "../../runner/transform.ts";
import type { Vars } from "../../runner/compile.ts";

export const RAW_SCHEMA = "detections_raw";

/** One delivered copy, as the subscription writes it. */
export interface RawEvent {
  message_id: string;
  publish_time: Date;
  detection_oid: bigint;
  video_camera_oid: bigint;
  geographical_location_oid: bigint;
  item_name: string;
  timestamp_detected: bigint;
  subscription_name?: string;
}

export interface Location {
  geographical_location_oid: bigint;
  geographical_location: string;
}

export interface InvalidEvent {
  message_id: string;
  publish_time: Date;
  data: string;
  reason: string;
}

export interface TestWarehouse {
  dir: string;
  dbPath: string;
  db: Database;
  transformer: Transformer;
  close(): Promise<void>;
}

export async function createWarehouse(vars: Vars = {}): Promise<TestWarehouse> {
  const dir = await mkdtemp(path.join(tmpdir(), "sightline-test-"));
  const dbPath = path.join(dir, "sightline.duckdb");
  const db = await openDatabase(dbPath, { memoryLimit: "1GB", threads: 2 });
  await ensureRawTables(db.connection, RAW_SCHEMA);
  // Late copies are swept every second, not every 5 minutes, so tests see them loaded once their
  // publish_time is 11 s old; tests of the waiting itself set a longer slot.
  const transformer = new Transformer(db, { late_sweep_seconds: "1", ...vars });
  return {
    dir,
    dbPath,
    db,
    transformer,
    async close() {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const sqlTimestamp = (at: Date) => `TIMESTAMP ${sqlString(at.toISOString().replace("T", " ").replace("Z", ""))}`;

/** Writes Dataset B where the runner's geographical_locations operation reads it. */
export async function writeLocations(warehouse: TestWarehouse, locations: Location[]): Promise<void> {
  const file = locationsFileFor(warehouse.dbPath);
  const rows = locations.length
    ? locations.map((l) => `select ${l.geographical_location_oid}::bigint as geographical_location_oid, ${sqlString(l.geographical_location)} as geographical_location`).join(" union all ")
    : "select null::bigint as geographical_location_oid, null::varchar as geographical_location where false";
  await warehouse.db.connection.run(`copy (${rows}) to ${sqlString(file)} (format parquet)`);
}

/** Appends copies to the raw table in one transaction, as one commit of the sink would. */
export async function insertRawEvents(warehouse: TestWarehouse, events: RawEvent[]): Promise<void> {
  if (events.length === 0) return;
  const appender = await warehouse.db.connection.createAppender("raw_detection_events", "main", RAW_SCHEMA);
  for (const e of events) {
    appender.appendVarchar(e.subscription_name ?? "test-sink");
    appender.appendVarchar(e.message_id);
    appender.appendTimestamp(timestampValue(BigInt(e.publish_time.getTime()) * 1000n));
    appender.appendNull();
    appender.appendBigInt(e.detection_oid);
    appender.appendBigInt(e.video_camera_oid);
    appender.appendBigInt(e.geographical_location_oid);
    appender.appendVarchar(e.item_name);
    appender.appendBigInt(e.timestamp_detected);
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
}

export async function insertInvalidEvents(warehouse: TestWarehouse, events: InvalidEvent[]): Promise<void> {
  for (const e of events) {
    await warehouse.db.connection.run(
      `insert into ${RAW_SCHEMA}.invalid_detection_events values ('test-sink', ${sqlString(e.message_id)}, ${sqlTimestamp(e.publish_time)}, json_object('reason', ${sqlString(e.reason)}), ${sqlString(e.data)})`
    );
  }
}

/** Reads a table with int64 kept exact (bigint beyond 2^53 becomes a string) and timestamps as ISO strings. */
export async function readTable(warehouse: TestWarehouse, table: string, orderBy: string): Promise<Record<string, unknown>[]> {
  const reader = await warehouse.db.connection.runAndReadAll(`select * from ${table} order by ${orderBy}`);
  return plainRows(reader.getRowObjectsJS());
}
