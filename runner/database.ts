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

export async function objectType(connection: DuckDBConnection, schema: string, name: string): Promise<ObjectType | null> {
  const reader = await connection.runAndReadAll(
    "select table_type from information_schema.tables where table_schema = $schema and table_name = $name",
    { schema, name }
  );
  const type = reader.getRowObjectsJS()[0]?.table_type;
  if (type === undefined) return null;
  return type === "VIEW" ? "view" : "table";
}

export async function columnNames(connection: DuckDBConnection, schema: string, name: string): Promise<string[]> {
  const reader = await connection.runAndReadAll(
    "select column_name from information_schema.columns where table_schema = $schema and table_name = $name order by ordinal_position",
    { schema, name }
  );
  return reader.getRowObjectsJS().map((row) => String(row.column_name));
}
