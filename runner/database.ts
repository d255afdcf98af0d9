// Opens the local warehouse: one DuckDB file, one schema per BigQuery dataset, timestamps in UTC.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";

export interface DatabaseOptions {
  /** DuckDB's memory_limit; DuckDB spills to disk beyond it. */
  memoryLimit?: string;
  threads?: number;
}

export const DEFAULT_MEMORY_LIMIT = "3GB";

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
    ...(options.threads ? { threads: String(options.threads) } : {}),
  });
  const connection = await instance.connect();
  // TIMESTAMP vs TIMESTAMPTZ comparisons depend on the zone: pin it for every connection so results
  // never do. (Set after start-up: the time zone setting needs the built-in ICU extension loaded.)
  await connection.run("set global TimeZone = 'UTC'");
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
 * One catalog query per action: a run asks this of every model, and information_schema's views cost a
 * few milliseconds each (two queries per action added ~60 ms to an incremental run).
 */
export async function describeObject(connection: DuckDBConnection, schema: string, name: string): Promise<ExistingObject | null> {
  const reader = await connection.runAndReadAll(
    `select 'table' as type, (select list(column_name order by column_index) from duckdb_columns() c
         where c.database_oid = t.database_oid and c.table_oid = t.table_oid) as columns
       from duckdb_tables() t
      where t.database_name = current_database() and t.schema_name = $schema and t.table_name = $name
     union all
     select 'view', []
       from duckdb_views() v
      where v.database_name = current_database() and v.schema_name = $schema and v.view_name = $name`,
    { schema, name }
  );
  const row = reader.getRowObjectsJS()[0];
  if (!row) return null;
  return { type: row.type === "view" ? "view" : "table", columns: (row.columns as unknown[]).map(String) };
}
