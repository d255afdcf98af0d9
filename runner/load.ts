// Loads the original assignment's Parquet datasets into the local warehouse, shaped as the
// production subscription writes them. Bad rows go to the dead-letter table with a reason; they
// never stop the good rows of the same file from loading.
import { randomUUID } from "node:crypto";
import { copyFile, rename } from "node:fs/promises";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { qualifiedName, sqlString } from "./database.ts";
import { INVALID_EVENTS_TABLE, RAW_EVENTS_TABLE } from "./raw_tables.ts";

export const LOAD_SUBSCRIPTION = "sightline-load";

const INTEGER_TYPES = new Set(["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT", "UHUGEINT"]);

async function parquetColumns(connection: DuckDBConnection, file: string): Promise<Map<string, string>> {
  let rows: Record<string, unknown>[];
  try {
    rows = (await connection.runAndReadAll(`describe select * from read_parquet(${sqlString(file)})`)).getRowObjectsJS();
  } catch (error) {
    throw new Error(`cannot read ${file} as Parquet: ${(error as Error).message.split("\n")[0]}`);
  }
  return new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

/**
 * An int64 column as BIGINT, or NULL where a value is not an exact int64: integers as they are,
 * decimal strings checked digit by digit (so nothing is rounded), anything else rejected up front.
 */
function int64Expression(column: string, type: string, file: string): string {
  if (INTEGER_TYPES.has(type)) return `try_cast(${column} as bigint)`;
  if (type === "VARCHAR") return `case when regexp_full_match(${column}, '-?[0-9]{1,19}') then try_cast(${column} as bigint) end`;
  throw new Error(`${file}: column ${column} has type ${type}; expected an integer (or a decimal string)`);
}

function millisExpression(column: string, type: string, file: string): string {
  if (type.startsWith("TIMESTAMP")) return `epoch_ms(${column}::timestamp)`;
  return int64Expression(column, type, file);
}

export interface LoadResult {
  accepted: number;
  rejected: number;
  publishTime: Date;
}

/** Appends Dataset A's rows to the raw table in one transaction: one publish, one publish_time. */
export async function loadEvents(connection: DuckDBConnection, file: string, rawSchema: string): Promise<LoadResult> {
  const columns = await parquetColumns(connection, file);
  const required = ["detection_oid", "video_camera_oid", "geographical_location_oid", "item_name", "timestamp_detected"];
  const missing = required.filter((c) => !columns.has(c));
  if (missing.length > 0) {
    throw new Error(`${file}: missing column(s) ${missing.join(", ")}; Dataset A has ${required.join(", ")}`);
  }
  const typed = (c: string) => columns.get(c)!;
  const ids = ["detection_oid", "video_camera_oid", "geographical_location_oid"].map((c) => `${int64Expression(c, typed(c), file)} as ${c}`);
  const batch = randomUUID().slice(0, 8);
  const source = path.basename(file);
  const raw = qualifiedName(rawSchema, RAW_EVENTS_TABLE);
  const invalid = qualifiedName(rawSchema, INVALID_EVENTS_TABLE);
  await connection.run("begin transaction");
  try {
    await connection.run(`create or replace temp table sightline_load_rows as
      select
        row_number() over () as row_index,
        ${ids.join(",\n        ")},
        cast(item_name as varchar) as item_name,
        ${millisExpression("timestamp_detected", typed("timestamp_detected"), file)} as timestamp_detected,
        to_json(source_row)::varchar as data
      from read_parquet(${sqlString(file)}) as source_row`);
    await connection.run(`create or replace temp table sightline_load_checked as
      select *,
        case
          when detection_oid is null then 'detection_oid must be an int64'
          when video_camera_oid is null then 'video_camera_oid must be an int64'
          when geographical_location_oid is null then 'geographical_location_oid must be an int64'
          when item_name is null or length(item_name) = 0 then 'item_name is required (1 to 5,000 characters)'
          when length(item_name) > 5000 then 'item_name is longer than 5,000 characters'
          when timestamp_detected is null then 'timestamp_detected must be epoch milliseconds (int64)'
        end as reason
      from sightline_load_rows`);
    const publishTime = new Date();
    const publishSql = `TIMESTAMP ${sqlString(publishTime.toISOString().replace("T", " ").replace("Z", ""))}`;
    const accepted = await connection.run(`insert into ${raw}
      select ${sqlString(LOAD_SUBSCRIPTION)}, 'load-${batch}-' || row_index, ${publishSql},
        json_object('source', ${sqlString(source)}, 'row', row_index),
        detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected
      from sightline_load_checked where reason is null`);
    const rejected = await connection.run(`insert into ${invalid}
      select ${sqlString(LOAD_SUBSCRIPTION)}, 'load-${batch}-' || row_index, ${publishSql},
        json_object('reason', reason, 'source', ${sqlString(source)}, 'row', row_index), data
      from sightline_load_checked where reason is not null`);
    await connection.run("drop table sightline_load_rows");
    await connection.run("drop table sightline_load_checked");
    await connection.run("commit");
    return { accepted: accepted.rowsChanged, rejected: rejected.rowsChanged, publishTime };
  } catch (error) {
    await connection.run("rollback").catch(() => undefined);
    throw error;
  }
}

/**
 * Checks Dataset B and puts it where the geographical_locations operation reads it. Dataset B is
 * replaced as a whole, so a file with bad rows is refused and the previous version stays.
 */
export async function stageLocations(connection: DuckDBConnection, file: string, destination: string): Promise<number> {
  const columns = await parquetColumns(connection, file);
  for (const c of ["geographical_location_oid", "geographical_location"]) {
    if (!columns.has(c)) throw new Error(`${file}: missing column ${c}; Dataset B has geographical_location_oid, geographical_location`);
  }
  const oid = int64Expression("geographical_location_oid", columns.get("geographical_location_oid")!, file);
  const reader = await connection.runAndReadAll(`
    with rows as (select ${oid} as oid, cast(geographical_location as varchar) as name from read_parquet(${sqlString(file)}))
    select
      count(*) as total,
      count(*) filter (where oid is null) as bad_ids,
      count(*) filter (where name is null or length(name) = 0 or length(name) > 500) as bad_names,
      count(*) - count(distinct oid) - count(*) filter (where oid is null) as duplicate_ids
    from rows`);
  const stats = reader.getRowObjectsJS()[0]!;
  const problems = [
    Number(stats.bad_ids) > 0 ? `${stats.bad_ids} row(s) without an int64 geographical_location_oid` : "",
    Number(stats.bad_names) > 0 ? `${stats.bad_names} row(s) whose geographical_location is empty or longer than 500 characters` : "",
    Number(stats.duplicate_ids) > 0 ? `${stats.duplicate_ids} repeated geographical_location_oid value(s)` : "",
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`${file} is not loaded (the previous Dataset B stays): ${problems.join("; ")}`);
  const temporary = `${destination}.${process.pid}.tmp`;
  await copyFile(file, temporary);
  await rename(temporary, destination);
  return Number(stats.total);
}
