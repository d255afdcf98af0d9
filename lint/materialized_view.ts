// BigQuery's rules for an incremental materialized view (DESIGN.md): what makes one illegal, or makes
// BigQuery recompute it in full, is caught here before a deploy does.
import { tokenize } from "bq2cst";
import type { CompiledGraph, CompiledTable } from "../runner/graph.ts";
import { targetName } from "../runner/graph.ts";
import type { Finding } from "./findings.ts";

/** Aggregates BigQuery maintains incrementally. */
const INCREMENTAL_AGGREGATES = new Set(["count", "countif", "sum", "avg", "min", "max", "any_value", "approx_count_distinct", "hll_count.init", "logical_and", "logical_or"]);
/** Deterministic scalar functions allowed in the view's expressions. */
const DETERMINISTIC_SCALARS = new Set(["timestamp_millis", "timestamp_trunc", "date", "cast", "coalesce", "ifnull", "timestamp_add", "timestamp_sub", "lower", "upper", "concat"]);
const NON_DETERMINISTIC = new Set(["current_timestamp", "current_date", "current_datetime", "current_time", "rand", "generate_uuid", "session_user", "now"]);
const KEYWORDS_BEFORE_PAREN = new Set(["as", "in", "on", "and", "or", "not", "using", "from", "join", "select", "where", "by"]);

function code(sql: string): string[] {
  return tokenize(sql)
    .map((t) => t.literal)
    .filter((t) => t !== "" && !t.startsWith("--") && !t.startsWith("/*") && !t.startsWith("#"));
}

export function lintMaterializedViewQuery(sql: string, tables: { growing: Set<string>; views: Set<string> }): string[] {
  const problems: string[] = [];
  const tokens = code(sql);
  const lower = tokens.map((t) => t.toLowerCase());
  lower.forEach((token, i) => {
    const next = lower[i + 1];
    const previous = lower[i - 1];
    if (token === "over") problems.push("uses a window function (OVER): not allowed in an incremental materialized view");
    if (token === "qualify") problems.push("uses QUALIFY: window functions are not allowed in an incremental materialized view");
    if (token === "union") problems.push("uses UNION: not allowed in an incremental materialized view");
    if (token === "having") problems.push("uses HAVING: not allowed in an incremental materialized view");
    if (token === "with" && i === 0) problems.push("uses WITH (CTEs): write the view as one SELECT over base tables");
    if (["left", "right", "full", "cross"].includes(token) && (next === "join" || next === "outer")) problems.push(`uses a ${token.toUpperCase()} JOIN: an incremental materialized view allows INNER JOIN only`);
    if ((token === "from" || token === "join") && next === "(") problems.push(`has a subquery after ${token.toUpperCase()}: read base tables directly`);
    if (NON_DETERMINISTIC.has(token)) problems.push(`calls ${token}, which is not deterministic`);
    if (next === "(" && /^[a-z_][a-z0-9_.]*$/.test(token) && !KEYWORDS_BEFORE_PAREN.has(token) && previous !== "as") {
      if (!INCREMENTAL_AGGREGATES.has(token) && !DETERMINISTIC_SCALARS.has(token) && !NON_DETERMINISTIC.has(token)) {
        problems.push(`calls ${token}(), which BigQuery does not maintain incrementally (allowed: ${[...INCREMENTAL_AGGREGATES].join(", ")} and deterministic scalars)`);
      }
    }
  });
  const paths = tokens.filter((t) => t.startsWith("`") && t.includes("."));
  paths.forEach((path, index) => {
    const name = path.slice(1, -1).split(".").slice(1).join(".");
    if (tables.views.has(name)) problems.push(`reads ${name}, a view: materialized views read tables`);
    if (index === 0 && !tables.growing.has(name)) problems.push(`its first table ${name} is not a growing (append-only) table: put the growing table first`);
  });
  return [...new Set(problems)];
}

function refreshProblems(table: CompiledTable): string[] {
  const options = table.bigquery?.additionalOptions ?? {};
  const problems: string[] = [];
  if (options.enable_refresh !== "true") problems.push("sets no enable_refresh=true option");
  const minutes = Number(options.refresh_interval_minutes);
  if (!Number.isFinite(minutes) || minutes < 1) problems.push("sets no refresh_interval_minutes of at least 1");
  if (options.allow_non_incremental_definition) problems.push("allows a non-incremental definition, which recomputes in full");
  return problems;
}

export function lintMaterializedViews(graph: CompiledGraph): Finding[] {
  const name = (t: { target: { schema: string; name: string } }) => `${t.target.schema}.${t.target.name}`;
  // Growing tables: the raw declarations (the subscription appends) and append-only incremental tables.
  const growing = new Set([...graph.declarations.map(name), ...graph.tables.filter((t) => t.enumType === "INCREMENTAL" && !t.uniqueKey?.length).map(name)]);
  const views = new Set(graph.tables.filter((t) => t.enumType === "VIEW" && !t.materialized).map(name));
  return graph.tables
    .filter((t) => t.materialized && !t.disabled)
    .flatMap((t) =>
      [...lintMaterializedViewQuery(t.query, { growing, views }), ...refreshProblems(t)].map((message) => ({ action: targetName(t.target), fileName: t.fileName, message }))
    );
}
