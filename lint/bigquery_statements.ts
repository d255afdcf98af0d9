// The statements Dataform's BigQuery runner would send for a compiled graph: the compiled graph holds
// SELECT bodies only, so the DDL/DML around them is written here the way @dataform/cli writes it
// (pre-operations, statement and post-operations as one script).
import type { CompiledGraph, CompiledTable, Target } from "../runner/graph.ts";
import { targetName } from "../runner/graph.ts";

export interface BigQueryStatement {
  action: string;
  fileName: string;
  /** What the statement does, e.g. "incremental merge". */
  purpose: string;
  sql: string;
}

export const backticked = (t: Target) => `\`${t.database}.${t.schema}.${t.name}\``;

function script(parts: (string | undefined)[]): string {
  return parts
    .filter((p): p is string => Boolean(p && p.trim()))
    .map((p) => p.trim().replace(/;\s*$/, ""))
    .join(";\n");
}

function createOrReplace(table: CompiledTable): string {
  const bq = table.bigquery ?? {};
  const options = [
    ...(bq.partitionBy && bq.partitionExpirationDays ? [`partition_expiration_days=${bq.partitionExpirationDays}`] : []),
    ...Object.entries(bq.additionalOptions ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  const type = table.enumType === "VIEW" ? "view" : "table";
  return [
    `create or replace ${table.materialized ? "materialized " : ""}${type} ${backticked(table.target)}`,
    bq.partitionBy ? `partition by ${bq.partitionBy}` : "",
    bq.clusterBy?.length ? `cluster by ${bq.clusterBy.join(", ")}` : "",
    options.length ? `OPTIONS(${options.join(", ")})` : "",
    `as ${table.query}`,
  ]
    .filter(Boolean)
    .join("\n");
}

function columnsOf(table: CompiledTable): string[] {
  return (table.actionDescriptor?.columns ?? []).map((c) => c.path.join("."));
}

function incrementalWrite(table: CompiledTable): string {
  const query = table.incrementalQuery ?? table.query;
  const columns = columnsOf(table);
  const quoted = columns.map((c) => `\`${c}\``);
  if (table.uniqueKey?.length) {
    const filter = table.bigquery?.updatePartitionFilter ? ` and DATAFORM_DEST.${table.bigquery.updatePartitionFilter}` : "";
    return [
      `merge ${backticked(table.target)} DATAFORM_DEST`,
      `using (${query}\n) DATAFORM_SOURCE`,
      `on ${table.uniqueKey.map((k) => `DATAFORM_DEST.${k} = DATAFORM_SOURCE.${k}`).join(" and ")}${filter}`,
      `when matched then update set ${columns.map((c) => `\`${c}\` = DATAFORM_SOURCE.${c}`).join(", ")}`,
      `when not matched then insert (${quoted.join(", ")}) values (${quoted.join(", ")})`,
    ].join("\n");
  }
  return `insert into ${backticked(table.target)} (${quoted.join(", ")})\nselect ${quoted.join(", ")} from (${query}\n)`;
}

export function bigQueryStatements(graph: CompiledGraph): BigQueryStatement[] {
  const statements: BigQueryStatement[] = [];
  for (const table of graph.tables.filter((t) => !t.disabled)) {
    const base = { action: targetName(table.target), fileName: table.fileName };
    statements.push({ ...base, purpose: table.enumType === "INCREMENTAL" ? "incremental full refresh" : `create ${table.materialized ? "materialized view" : table.enumType.toLowerCase()}`, sql: script([...(table.preOps ?? []), createOrReplace(table), ...(table.postOps ?? [])]) });
    if (table.enumType === "INCREMENTAL") {
      statements.push({ ...base, purpose: table.uniqueKey?.length ? "incremental merge" : "incremental insert", sql: script([...(table.incrementalPreOps ?? []), incrementalWrite(table), ...(table.incrementalPostOps ?? [])]) });
    }
  }
  for (const operation of graph.operations.filter((o) => !o.disabled)) {
    statements.push({ action: targetName(operation.target), fileName: operation.fileName, purpose: "operation", sql: script(operation.queries) });
  }
  for (const assertion of graph.assertions.filter((a) => !a.disabled)) {
    statements.push({ action: targetName(assertion.target), fileName: assertion.fileName, purpose: "assertion", sql: `create or replace view ${backticked(assertion.target)} as ${assertion.query}` });
  }
  for (const test of graph.tests) {
    statements.push({ action: test.name, fileName: test.fileName, purpose: "unit test query", sql: test.testQuery });
    statements.push({ action: test.name, fileName: test.fileName, purpose: "unit test expected output", sql: test.expectedOutputQuery });
  }
  return statements;
}
