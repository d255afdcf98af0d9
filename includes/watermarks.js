// Reading a model's own run watermark. Portable SQL: the same in BigQuery and DuckDB.

// The newest value of `column` in `table`, as a scalar subquery (NULL when the table is empty).
// ORDER BY ... LIMIT 1 rather than MAX: DuckDB then skips every row group whose statistics show an
// older maximum, where MAX reads the whole column (24 h of hourly counts, 72 M rows: 3 ms against
// 100 - 570 ms). BigQuery reads the column either way.
function newest(column, table) {
  return `(select ${column} from ${table} where ${column} is not null order by ${column} desc limit 1)`;
}

module.exports = { newest };
