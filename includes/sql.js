// The one dialect dispatch: every place where BigQuery and DuckDB SQL differ is a helper here,
// chosen by the `warehouse` var (bigquery by default; the local runner compiles with warehouse=duckdb).
// Helpers return SQL fragments and hold no business rules.

function warehouse() {
  const name = (dataform.projectConfig.vars || {}).warehouse || "bigquery";
  if (name !== "bigquery" && name !== "duckdb") {
    throw new Error(`var "warehouse" must be bigquery or duckdb, got "${name}"`);
  }
  return name;
}

function pick(bigquery, duckdb) {
  return warehouse() === "duckdb" ? duckdb : bigquery;
}

// BigQuery escapes with backslashes; DuckDB doubles the quote and treats backslashes literally.
function stringLiteral(text) {
  const value = String(text);
  return pick(`'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`, `'${value.replace(/'/g, "''")}'`);
}

// DuckDB timestamps are kept naive and in UTC, like BigQuery's TIMESTAMP.
const now = () => pick("CURRENT_TIMESTAMP()", "(now() AT TIME ZONE 'UTC')");

module.exports = {
  warehouse,
  now,
  timestampFromMillis: (millis) => pick(`TIMESTAMP_MILLIS(${millis})`, `epoch_ms(${millis})`),
  hourOf: (timestamp) => pick(`TIMESTAMP_TRUNC(${timestamp}, HOUR)`, `date_trunc('hour', ${timestamp})`),
  dayOf: (timestamp) => pick(`TIMESTAMP_TRUNC(${timestamp}, DAY)`, `date_trunc('day', ${timestamp})`),
  secondsBefore: (timestamp, seconds) =>
    pick(`TIMESTAMP_SUB(${timestamp}, INTERVAL ${seconds} SECOND)`, `(${timestamp} - INTERVAL (${seconds}) SECOND)`),
  millisBetween: (from, to) =>
    pick(`TIMESTAMP_DIFF(${to}, ${from}, MILLISECOND)`, `date_diff('millisecond', ${from}, ${to})`),
  // The start of the `seconds`-long slot (slots counted from the epoch) that `timestamp` falls in.
  // (Pass a plain column or variable: polyglot, which checks the BigQuery SQL, mistranslates
  // TIMESTAMP_SUB nested in UNIX_MICROS, and arithmetic inside DIV.)
  floorToSeconds: (timestamp, seconds) =>
    pick(
      `TIMESTAMP_MICROS(DIV(UNIX_MICROS(${timestamp}), ${seconds * 1000000}) * ${seconds * 1000000})`,
      `make_timestamp(epoch_us(${timestamp}) // ${seconds * 1000000} * ${seconds * 1000000})`
    ),
  // The next representable instant (both keep microseconds): `< justAfter(t)` includes t.
  justAfter: (timestamp) => pick(`TIMESTAMP_ADD(${timestamp}, INTERVAL 1 MICROSECOND)`, `(${timestamp} + INTERVAL 1 MICROSECOND)`),
  epoch: () => "TIMESTAMP '1970-01-01 00:00:00'",
  toDouble: (expr) => pick(`CAST(${expr} AS FLOAT64)`, `CAST(${expr} AS DOUBLE)`),
  // Script variables, set in pre_operations and read by the query of the same action:
  // BigQuery runs pre-operations and the statement as one script; DuckDB keeps session variables.
  // Names get a v_ prefix: in BigQuery a column of the same name would silently win over the variable.
  declare: (name, type, expr) =>
    pick(`DECLARE v_${name} ${type} DEFAULT (${expr});`, `SET VARIABLE v_${name} = CAST((${expr}) AS ${type});`),
  // A variable whose value reads a temporary table written by an earlier pre-operation: DECLAREd before
  // that statement (BigQuery allows DECLARE only at the start of a script), assigned after it.
  declareFirst: (name, type) => pick(`DECLARE v_${name} ${type};`, ""),
  assign: (name, type, expr) => pick(`SET v_${name} = (${expr});`, `SET VARIABLE v_${name} = CAST((${expr}) AS ${type});`),
  variable: (name) => pick(`v_${name}`, `getvariable('v_${name}')`),
  // Sorted int64 arrays: the set of cameras behind an hourly count (aggregated from values already
  // distinct), merged run after run.
  arrayAggSorted: (expr) => pick(`ARRAY_AGG(${expr} ORDER BY ${expr})`, `list(${expr} ORDER BY ${expr})`),
  // The sorted union of `left`, a sorted array without repeats, and `right`, one too or NULL.
  // On DuckDB the list functions cost a fixed ~0.3 ms per chunk of rows, and a join's output comes in
  // many small chunks (an incremental run of detection_counts_hourly: ~1,400 chunks of ~60 rows, 0.43 s
  // at 36 M raw rows). Most rows need no merging (a key seen for the first time, or the same cameras
  // again): they are answered without the list functions, which then only see the rest (0.05 s).
  arrayUnion: (left, right) =>
    pick(
      `ARRAY(SELECT DISTINCT element FROM UNNEST(ARRAY_CONCAT(${left}, IFNULL(${right}, []))) AS element ORDER BY element)`,
      `case
        when ${right} is null then ${left}
        when ${right} = ${left} then ${right}
        else list_sort(list_distinct(list_concat(${left}, ${right})))
      end`
    ),
  arrayLength: (expr) => pick(`ARRAY_LENGTH(${expr})`, `len(${expr})`),
  // True while `table` holds fewer than `rows` rows. BigQuery answers a whole-table COUNT(*) from
  // metadata; DuckDB counts row by row once a table has uncheckpointed rows (~60 ms a run for
  // detection_events at 24 h of history), so there the count stops at `rows`.
  fewerRowsThan: (table, rows) =>
    pick(`(select count(*) from ${table}) < ${rows}`, `(select count(*) from (select 1 from ${table} limit ${rows}) as first_rows) < ${rows}`),
  // Replaces a table with the rows of a Parquet file: LOAD DATA from Cloud Storage in BigQuery,
  // read_parquet on a local file in DuckDB. Both are atomic: readers see the old or the new version.
  replaceTableFromParquet: (target, uri, columns) =>
    pick(
      `LOAD DATA OVERWRITE ${target} (${columns.map((c) => `${c.name} ${c.type}`).join(", ")})\n` +
        `FROM FILES (format = 'PARQUET', uris = [${stringLiteral(uri)}])`,
      `CREATE OR REPLACE TABLE ${target} AS\nSELECT ${columns
        .map((c) => `CAST(${c.name} AS ${c.type}) AS ${c.name}`)
        .join(", ")}\nFROM read_parquet(${stringLiteral(uri)})`
    ),
  stringLiteral,
};
