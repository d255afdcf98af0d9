// `sightline top`: the top X items per location, computed by the top_items_by_location model's own
// compiled query (compiled with top_x = X), read-only: the table the dashboards read keeps its X.
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { DuckDBConnection } from "@duckdb/node-api";
import { ProjectCompiler, type Vars } from "./compile.ts";
import { sqlString } from "./database.ts";
import { toDuckdbSql } from "./statements.ts";

export type TopFormat = "csv" | "json" | "parquet";

export async function topItemsQuery(vars: Vars, x: number): Promise<string> {
  if (!Number.isSafeInteger(x) || x < 1) throw new Error(`--x must be a positive integer, got ${x}`);
  const { graph } = await new ProjectCompiler({ ...vars, top_x: String(x) }).current();
  const model = graph.tables.find((t) => t.target.name === "top_items_by_location");
  if (!model) throw new Error("the project has no top_items_by_location model");
  return `select * from (${toDuckdbSql(model.query)}) order by geographical_location_oid, item_rank`;
}

/** Writes the result to a file with DuckDB's own CSV, JSON and Parquet writers. */
export async function writeTopItems(connection: DuckDBConnection, query: string, format: TopFormat, output: string): Promise<number> {
  const options = format === "csv" ? "format csv, header true" : format === "json" ? "format json, array true" : "format parquet";
  const result = await connection.run(`copy (${query}) to ${sqlString(output)} (${options})`);
  return result.rowsChanged;
}

/**
 * Standard output may be a pipe or a socket, which DuckDB cannot always open by path
 * (/dev/stdout fails on sockets): write a temporary file and stream it out.
 */
export async function printTopItems(connection: DuckDBConnection, query: string, format: "csv" | "json", out: NodeJS.WritableStream): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), "sightline-top-"));
  try {
    const file = path.join(dir, `top.${format}`);
    const rows = await writeTopItems(connection, query, format, file);
    await pipeline(createReadStream(file), out, { end: false });
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
