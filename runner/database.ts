// Opens the local warehouse: one DuckDB file with a schema per BigQuery dataset, except the raw dataset,
// which is a DuckDB file of its own attached under the dataset's name (so `detections_raw.x` names the
// same table either way); timestamps in UTC.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";

export interface DatabaseOptions {
  /** DuckDB's memory_limit; DuckDB spills to disk beyond it. */
  memoryLimit?: string;
  threads?: number;
  /** The raw dataset to attach (DEFAULT_RAW_DATASET unless the configuration names another). */
  rawDataset?: string;
}

export const DEFAULT_MEMORY_LIMIT = "3GB";

/**
 * DuckDB's own checkpoint_threshold on every instance, reached only by a writer that checkpoints
 * nothing itself: the sink and the model runner checkpoint what they write (runner/checkpoints.ts).
 */
export const SAFETY_NET_CHECKPOINT_THRESHOLD = "1GB";

/** The dataset the Pub/Sub subscription (locally: the ingest sink) writes. */
export const DEFAULT_RAW_DATASET = "detections_raw";

/**
 * Rows per row group in the raw dataset's file (DuckDB's default is 122,880). The sink commits small
 * groups, which a checkpoint compresses later with every other commit waiting; smaller row groups make
 * those checkpoints short and let a larger commit write whole compressed row groups itself. Measured
 * in the ingest benchmark (BENCHMARKS.md, "The raw dataset in its own file"): 16,384 rows took the durable path from ~280 k to
 * ~340 k events/s and its p99 at 100,000 events/s from ~240 to ~70 ms; 8,192 and 32,768 were close
 * behind, 65,536 no better than the default. A property of the attach, not of the file: every attach
 * must give it.
 */
export const RAW_ROW_GROUP_SIZE = 16_384;

/**
 * The storage format the raw dataset's file is written in (DuckDB writes its oldest readable format,
 * v1.0.0, unless told). The newer format's string compression makes the sink's checkpoints, which
 * every commit behind them waits for, about a third cheaper (bench/profile_checkpoints.ts, alternating:
 * 0.42 - 0.79 against 0.62 - 1.01 µs per row; the p99 at 100,000 events/s lower in every pair) for
 * ~10 % more bytes per row (BENCHMARKS.md, "Session 15"). A file written before keeps its rows.
 */
export const RAW_STORAGE_VERSION = "v1.5.0";

export interface Database {
  path: string;
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  close(): void;
}

export async function openDatabase(file: string, options: DatabaseOptions = {}): Promise<Database> {
  if (file !== ":memory:") await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const instance = await DuckDBInstance.create(file, {
    memory_limit: options.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
    checkpoint_threshold: SAFETY_NET_CHECKPOINT_THRESHOLD,
    ...(options.threads ? { threads: String(options.threads) } : {}),
  });
  const connection = await instance.connect();
  // TIMESTAMP vs TIMESTAMPTZ comparisons depend on the zone: pin it for every connection so results
  // never do. (Set after start-up: the time zone setting needs the built-in ICU extension loaded.)
  await connection.run("set global TimeZone = 'UTC'");
  await attachDataset(connection, options.rawDataset ?? DEFAULT_RAW_DATASET);
  return {
    path: file,
    instance,
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * The file that holds a dataset kept apart from the warehouse file: `data/sightline.duckdb` keeps
 * `detections_raw` in `data/sightline.detections_raw.duckdb`.
 */
export function datasetFile(warehouseFile: string, dataset: string): string {
  const stem = warehouseFile.endsWith(".duckdb") ? warehouseFile.slice(0, -".duckdb".length) : warehouseFile;
  return `${stem}.${dataset}.duckdb`;
}

/**
 * Attaches the raw dataset's own file under the dataset's name, unless it is attached already or the
 * warehouse file holds it as a schema (a file made before the raw dataset moved out keeps working as
 * it was). Why a file of its own: the sink's frequent checkpoints then touch only the raw tables, the
 * model runs' checkpoints never rewrite raw data, and the raw file gets its own row group size.
 */
export async function attachDataset(connection: DuckDBConnection, dataset: string): Promise<void> {
  const reader = await connection.runAndReadAll(
    `select (select count(*) from duckdb_databases() where database_name = $dataset) as attached,
            (select count(*) from duckdb_schemas() where database_name = current_database() and schema_name = $dataset) as schemas,
            (select path from duckdb_databases() where database_name = current_database()) as path`,
    { dataset }
  );
  const row = reader.getRowObjectsJS()[0]!;
  if (Number(row.attached) > 0 || Number(row.schemas) > 0) return;
  const file = row.path ? datasetFile(String(row.path), dataset) : ":memory:";
  await connection.run(`attach ${sqlString(file)} as ${quoteIdentifier(dataset)} (row_group_size ${RAW_ROW_GROUP_SIZE}, storage_version '${RAW_STORAGE_VERSION}')`);
}

/**
 * A schema for each dataset's tables, except a dataset that is an attached file of its own (a schema
 * of that name would hide it). One catalog query, whatever the number: a run asks this every time.
 */
export async function ensureSchemas(connection: DuckDBConnection, datasets: Iterable<string>): Promise<void> {
  const reader = await connection.runAndReadAll("select database_name from duckdb_databases()");
  const attached = new Set(reader.getRowObjectsJS().map((row) => String(row.database_name)));
  for (const dataset of new Set(datasets)) {
    if (!attached.has(dataset)) await connection.run(`create schema if not exists ${quoteIdentifier(dataset)}`);
  }
}

/** DuckDB identifiers are double-quoted; BigQuery's backticked paths never reach DuckDB. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A DuckDB string literal: the quote doubled, backslashes literal. */
export function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

export type ObjectType = "table" | "view";

/** What a name is in the database (null: nothing yet) and, for a table, its columns in order. */
export interface ExistingObject {
  type: ObjectType;
  columns: string[];
}

/**
 * Asked of every model on every run, so kept to two cheap catalog reads: the name's kind, then a table's
 * columns from pragma_table_info on that one table. (duckdb_columns() lists every column of every
 * attached database, assertion views included: 3.7 ms a call against 1.6 ms, ~25 ms of an incremental
 * run; information_schema's views cost more still.) Qualified with the database, so a temporary table
 * of the same name cannot answer instead.
 */
export async function describeObject(connection: DuckDBConnection, schema: string, name: string): Promise<ExistingObject | null> {
  const reader = await connection.runAndReadAll(
    `select 'table' as type, current_database() as db
       from duckdb_tables()
      where database_name = current_database() and schema_name = $schema and table_name = $name
     union all
     select 'view', current_database()
       from duckdb_views()
      where database_name = current_database() and schema_name = $schema and view_name = $name`,
    { schema, name }
  );
  const row = reader.getRowObjectsJS()[0];
  if (!row) return null;
  if (row.type === "view") return { type: "view", columns: [] };
  const path = `${quoteIdentifier(String(row.db))}.${qualifiedName(schema, name)}`;
  const columns = await connection.runAndReadAll(`select name from pragma_table_info(${sqlString(path)}) order by cid`);
  return { type: "table", columns: columns.getRowObjectsJS().map((column) => String(column.name)) };
}
