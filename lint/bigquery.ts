// Checks BigQuery SQL without BigQuery. bq2cst parses each statement, but it accepts a lot that
// BigQuery refuses (DuckDB casts, double-quoted identifiers read as strings, unknown functions), so the
// tokens are also checked against what BigQuery has and what only DuckDB has.
import { parse, tokenize } from "bq2cst";
import type { BigQueryStatement } from "./bigquery_statements.ts";
import type { Finding } from "./findings.ts";

/** The BigQuery functions the project may call. A new one is added here after checking BigQuery's docs. */
export const BIGQUERY_FUNCTIONS = new Set([
  "any_value", "approx_count_distinct", "approx_quantiles", "array", "array_agg", "array_concat", "array_length", "avg",
  "cast", "char_length", "coalesce", "count", "countif", "current_timestamp", "date", "exp", "floor", "hll_count.init",
  "if", "ifnull", "least", "greatest", "ln", "logical_and", "logical_or", "max", "min", "round", "row_number",
  "safe_cast", "sum", "timestamp", "timestamp_add", "timestamp_diff", "timestamp_micros", "timestamp_millis", "timestamp_sub",
  "timestamp_trunc", "unix_micros", "div", "unnest",
]);

/** Words that may stand before "(" without being a function call. */
const KEYWORDS = new Set([
  "as", "in", "exists", "values", "options", "files", "over", "using", "on", "and", "or", "not", "when", "then", "else",
  "from", "join", "with", "select", "where", "by", "into", "insert", "default", "interval", "struct", "between", "is",
  "all", "distinct", "union", "partition", "cluster", "return", "if", "case", "end", "limit", "offset", "having", "qualify",
]);

/** Only DuckDB has these: the DuckDB compile's helpers must never leak into the BigQuery one. */
const DUCKDB_ONLY = new Set(["getvariable", "epoch_ms", "date_trunc", "read_parquet", "read_json", "read_csv", "list", "list_sort", "list_distinct", "list_concat", "len", "now", "strftime", "date_diff", "regexp_full_match"]);

function isIdentifier(token: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(token);
}

export function lintStatement(statement: BigQueryStatement, knownDatasets: Set<string>): string[] {
  const problems: string[] = [];
  try {
    parse(statement.sql);
  } catch (error) {
    problems.push(`does not parse as BigQuery SQL: ${(error as Error).message}`);
    return problems;
  }
  const tokens = tokenize(statement.sql)
    .map((t) => t.literal)
    .filter((t) => t !== "" && !t.startsWith("--") && !t.startsWith("/*") && !t.startsWith("#"));
  let depth = 0;
  let seenStatement = false;
  let atStatementStart = true;
  tokens.forEach((token, index) => {
    const lower = token.toLowerCase();
    const next = tokens[index + 1];
    if (token === "(") depth++;
    if (token === ")") depth--;
    if (depth < 0) problems.push("a ')' closes nothing");
    if (token === ":" && next === ":") problems.push("uses a '::' cast (DuckDB); BigQuery writes CAST(x AS type)");
    if (token.startsWith('"') && (next === "." || tokens[index - 1] === ".")) problems.push(`uses a double-quoted identifier ${token} (BigQuery reads it as a string); use backticks`);
    if (lower === "set" && next?.toLowerCase() === "variable") problems.push("uses SET VARIABLE (DuckDB); BigQuery scripts DECLARE variables");
    if (lower === "by" && next?.toLowerCase() === "name" && tokens[index - 1] !== undefined && /^(`|into)/i.test(tokens[index - 2] ?? "")) problems.push("uses INSERT ... BY NAME (DuckDB)");
    if (token.startsWith("`")) {
      const parts = token.slice(1, -1).split(".");
      // A single backticked name is a column; a path must be project.dataset.table.
      if (parts.length === 1) return;
      if (parts.length !== 3) problems.push(`${token} is not a project.dataset.table path`);
      else if (!knownDatasets.has(parts[1]!)) problems.push(`${token} names dataset "${parts[1]}", which the project does not have`);
    }
    if (atStatementStart && lower !== "declare") seenStatement = true;
    if (lower === "declare" && seenStatement) problems.push("DECLARE after another statement: BigQuery allows DECLARE only at the start of a script");
    atStatementStart = token === ";";
    if (next === "(" && isIdentifier(token) && !KEYWORDS.has(lower) && tokens[index - 1] !== "as") {
      const previous = tokens[index - 1]?.toLowerCase();
      const isTableName = previous === "into" || previous === "table" || previous === "view";
      if (DUCKDB_ONLY.has(lower)) problems.push(`calls ${token}(), which is DuckDB's, not BigQuery's`);
      else if (!isTableName && !BIGQUERY_FUNCTIONS.has(lower)) problems.push(`calls ${token}(), which is not in lint/bigquery.ts's list of BigQuery functions`);
    }
  });
  if (depth !== 0) problems.push("parentheses are not balanced");
  return [...new Set(problems)];
}

export function lintBigQuery(statements: BigQueryStatement[], knownDatasets: Set<string>): Finding[] {
  return statements.flatMap((statement) =>
    lintStatement(statement, knownDatasets).map((message) => ({ action: statement.action, fileName: statement.fileName, message: `${statement.purpose}: ${message}` }))
  );
}
