// Runs the BigQuery compile on DuckDB by translating it with @polyglot-sql/sdk, so the SQL production
// runs can be compared with the DuckDB compile on the same fixtures.
//
// How BigQuery script variables are handled: each pre-operation `DECLARE v_x TYPE DEFAULT (expr);` or
// `SET v_x = (expr);` is translated and evaluated on DuckDB, in script order (temporary tables created
// between them), against the tables as they are before the action,
// and its value is written into the later statements as a literal (BigQuery would do the same lookup
// at that point of the script). Operations (LOAD DATA from Cloud Storage) have no DuckDB translation:
// Dataset B is loaded by the DuckDB compile's own operation.
import * as polyglot from "@polyglot-sql/sdk";
import type { DuckDBConnection } from "@duckdb/node-api";
import { describeObject, ensureSchemas } from "../../runner/database.ts";
import { executeActions, type ActionResult } from "../../runner/execute.ts";
import { actionsInOrder, type Action, type CompiledGraph } from "../../runner/graph.ts";

/** Functions DESIGN.md reports polyglot silently mistranslates: their presence must fail loudly. */
export const MISTRANSLATED = ["JSON_VALUE", "REGEXP_CONTAINS", "DAYOFWEEK", "UNIX_SECONDS", "NUMERIC"];

let ready: Promise<void> | undefined;
export function initPolyglot(): Promise<void> {
  return (ready ??= polyglot.init());
}

/** `project.dataset.table` → dataset.table before translating, as DESIGN.md advises. */
export function splitPaths(sql: string): string {
  return sql.replace(/`([^`.\s]+)\.([^`.\s]+)\.([^`.\s]+)`/g, "$2.$3");
}

export function translate(sql: string): string {
  for (const name of MISTRANSLATED) {
    if (new RegExp(`\\b${name}\\b`, "i").test(sql)) throw new Error(`the BigQuery SQL uses ${name}, which polyglot is known to mistranslate`);
  }
  const result = polyglot.transpile(splitPaths(sql), polyglot.Dialect.BigQuery, polyglot.Dialect.DuckDB);
  if (!result.success || !result.sql) throw new Error(`polyglot could not translate: ${result.error}\n${sql}`);
  return result.sql.join(";\n");
}

interface Declaration {
  name: string;
  type: string;
  expression: string;
}

type PreOperation = { kind: "declare"; declaration: Declaration } | { kind: "statement"; sql: string };

/**
 * The pre-operations as a script, in order: each `DECLARE v_x TYPE DEFAULT (expr);` and each
 * `SET v_x = (expr);` (after a bare `DECLARE v_x TYPE;`) evaluates a variable; anything else (a
 * temporary table) is a statement to run.
 */
function script(preOps: string[]): PreOperation[] {
  const text = preOps.join("\n").replace(/--[^\n]*/g, "");
  const types = new Map<string, string>();
  const steps: PreOperation[] = [];
  for (const statement of text.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter((s) => s.length > 0)) {
    const declared = /^DECLARE\s+(v_\w+)\s+(\w+)(?:\s+DEFAULT\s+\(([\s\S]*)\))?$/i.exec(statement);
    const assigned = /^SET\s+(v_\w+)\s*=\s*\(([\s\S]*)\)$/i.exec(statement);
    if (declared) {
      types.set(declared[1]!, declared[2]!);
      if (declared[3] !== undefined) steps.push({ kind: "declare", declaration: { name: declared[1]!, type: declared[2]!, expression: declared[3] } });
    } else if (assigned) {
      const type = types.get(assigned[1]!);
      if (!type) throw new Error(`SET ${assigned[1]} before its DECLARE`);
      steps.push({ kind: "declare", declaration: { name: assigned[1]!, type, expression: assigned[2]! } });
    } else {
      steps.push({ kind: "statement", sql: statement });
    }
  }
  return steps;
}

function substitute(sql: string, values: Map<string, string>): string {
  return sql.replace(/\bv_\w+\b/g, (name) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`script variable ${name} is used but not declared`);
    return value;
  });
}

async function evaluate(connection: DuckDBConnection, declaration: Declaration, values: Map<string, string>): Promise<string> {
  const sql = translate(`select cast((${substitute(declaration.expression, values)}) as STRING) as value`);
  const value = (await connection.runAndReadAll(sql)).getRowObjectsJS()[0]?.value;
  if (value === null || value === undefined) return `cast(null as ${declaration.type})`;
  return declaration.type === "TIMESTAMP" ? `TIMESTAMP '${String(value).replace(/\+00(:00)?$/, "")}'` : String(value);
}

/** Runs the BigQuery graph's models on DuckDB, translated; `operationsFrom` supplies the operations. */
export async function runTranslated(connection: DuckDBConnection, bigquery: CompiledGraph, operationsFrom: CompiledGraph): Promise<ActionResult[]> {
  await initPolyglot();
  const results: ActionResult[] = [];
  await ensureSchemas(connection, [...bigquery.tables, ...bigquery.operations].map((t) => t.target.schema));
  const operations = new Map(actionsInOrder(operationsFrom).filter((a) => a.kind === "operation").map((a) => [a.name, a]));
  for (const action of actionsInOrder(bigquery)) {
    if (action.kind === "assertion") continue;
    if (action.kind === "operation") {
      results.push(...(await executeActions(connection, [operations.get(action.name)!])));
      continue;
    }
    const { schema, name } = action.table.target;
    const incremental = action.kind === "incremental" && (await describeObject(connection, schema, name))?.type === "table";
    const values = new Map<string, string>();
    const preOps = incremental ? action.table.incrementalPreOps ?? [] : action.table.preOps ?? [];
    for (const step of script(preOps)) {
      if (step.kind === "declare") values.set(step.declaration.name, await evaluate(connection, step.declaration, values));
      else await connection.run(translate(substitute(step.sql, values)));
    }
    const query = translate(substitute(incremental ? action.table.incrementalQuery ?? action.table.query : action.table.query, values));
    const filter = action.table.bigquery?.updatePartitionFilter;
    const translated: Action = {
      ...action,
      table: {
        ...action.table,
        query,
        incrementalQuery: query,
        preOps: [],
        incrementalPreOps: [],
        // post-operations read the script's variables too (detection_events records its sweep)
        postOps: (action.table.postOps ?? []).map((sql) => translate(substitute(sql, values))),
        incrementalPostOps: (action.table.incrementalPostOps ?? []).map((sql) => translate(substitute(sql, values))),
        bigquery: { ...action.table.bigquery, updatePartitionFilter: filter ? translate(`select 1 where ${substitute(filter, values)}`).replace(/^SELECT 1 WHERE /i, "") : undefined },
      },
    };
    const [result] = await executeActions(connection, [translated]);
    results.push(result!);
    if (result!.status !== "ok") throw new Error(`translated ${action.name} failed: ${result!.error}`);
  }
  return results;
}
