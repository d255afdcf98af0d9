import { describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadInclude } from "../support/includes.ts";

type Sql = {
  warehouse(): string;
  now(): string;
  timestampFromMillis(ms: string): string;
  hourOf(ts: string): string;
  dayOf(ts: string): string;
  secondsBefore(ts: string, seconds: number): string;
  millisBetween(from: string, to: string): string;
  toDouble(expr: string): string;
  declare(name: string, type: string, expr: string): string;
  declareFirst(name: string, type: string): string;
  assign(name: string, type: string, expr: string): string;
  variable(name: string): string;
  arrayAggSorted(expr: string): string;
  arrayUnion(left: string, right: string): string;
  arrayLength(expr: string): string;
  fewerRowsThan(table: string, rows: number): string;
  replaceTableFromParquet(target: string, uri: string, columns: { name: string; type: string }[]): string;
  stringLiteral(text: string): string;
  floorToSeconds(ts: string, seconds: number): string;
  justAfter(ts: string): string;
};

const bigquery = loadInclude<Sql>("sql", { warehouse: "bigquery" });
const duckdb = loadInclude<Sql>("sql", { warehouse: "duckdb" });
const squash = (sql: string) => sql.replace(/\s+/g, " ").trim();

async function duckdbValue(expression: string, setup: string[] = []): Promise<unknown> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await connection.run("set TimeZone = 'UTC'");
    for (const statement of setup) await connection.run(statement);
    const reader = await connection.runAndReadAll(`select ${expression} as value`);
    return reader.getRowObjectsJson()[0]?.value;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("includes/sql.js", () => {
  it("refuses a warehouse it does not know, naming the var", () => {
    const broken = loadInclude<Sql>("sql", { warehouse: "snowflake" });
    expect(() => broken.hourOf("ts")).toThrow(/var "warehouse" must be bigquery or duckdb, got "snowflake"/);
  });

  it("writes BigQuery functions for the default compile", () => {
    expect(bigquery.timestampFromMillis("t")).toBe("TIMESTAMP_MILLIS(t)");
    expect(bigquery.hourOf("ts")).toBe("TIMESTAMP_TRUNC(ts, HOUR)");
    expect(bigquery.secondsBefore("ts", 600)).toBe("TIMESTAMP_SUB(ts, INTERVAL 600 SECOND)");
    expect(bigquery.millisBetween("a", "b")).toBe("TIMESTAMP_DIFF(b, a, MILLISECOND)");
    expect(bigquery.declare("x", "TIMESTAMP", "select 1")).toBe("DECLARE v_x TIMESTAMP DEFAULT (select 1);");
    expect(bigquery.variable("x")).toBe("v_x");
    // Declared at the start of the script, set after a temporary table it reads.
    expect(bigquery.declareFirst("x", "INT64")).toBe("DECLARE v_x INT64;");
    expect(bigquery.assign("x", "INT64", "select 1")).toBe("SET v_x = (select 1);");
    expect(bigquery.now()).toBe("CURRENT_TIMESTAMP()");
  });

  it("floors a timestamp to its slot of whole seconds since the epoch, and steps one microsecond", async () => {
    expect(bigquery.floorToSeconds("ts", 300)).toBe("TIMESTAMP_MICROS(DIV(UNIX_MICROS(ts), 300000000) * 300000000)");
    expect(bigquery.justAfter("ts")).toBe("TIMESTAMP_ADD(ts, INTERVAL 1 MICROSECOND)");
    expect(await duckdbValue(duckdb.floorToSeconds("timestamp '2026-12-02 10:07:31.5'", 300))).toBe("2026-12-02 10:05:00");
    expect(await duckdbValue(duckdb.floorToSeconds("timestamp '2026-12-02 10:05:00'", 300))).toBe("2026-12-02 10:05:00");
    expect(await duckdbValue(duckdb.floorToSeconds("timestamp '2026-12-02 10:07:31.5'", 7))).toBe("2026-12-02 10:07:28");
    expect(await duckdbValue(duckdb.justAfter("timestamp '2026-12-02 10:05:00'"))).toBe("2026-12-02 10:05:00.000001");
  });

  it("turns epoch milliseconds into the same UTC instant on DuckDB", async () => {
    expect(await duckdbValue(duckdb.timestampFromMillis("1772359200123::bigint"))).toBe("2026-03-01 10:00:00.123");
  });

  it("truncates to the hour and the day on DuckDB", async () => {
    expect(await duckdbValue(duckdb.hourOf("TIMESTAMP '2026-03-01 10:59:59.999'"))).toBe("2026-03-01 10:00:00");
    expect(await duckdbValue(duckdb.dayOf("TIMESTAMP '2026-03-01 10:59:59'"))).toBe("2026-03-01 00:00:00");
  });

  it("subtracts seconds and measures milliseconds between timestamps on DuckDB", async () => {
    expect(await duckdbValue(duckdb.secondsBefore("TIMESTAMP '2026-03-01 10:00:00'", 3600))).toBe("2026-03-01 09:00:00");
    expect(await duckdbValue(duckdb.millisBetween("TIMESTAMP '2026-03-01 10:00:00'", "TIMESTAMP '2026-03-01 10:00:01.250'"))).toBe("1250");
  });

  it("gives now() as a naive UTC timestamp on DuckDB whatever the session zone", async () => {
    // epoch_ms of a naive timestamp reads it as UTC; of now() (TIMESTAMPTZ) it is the absolute instant.
    const value = await duckdbValue(`epoch_ms(${duckdb.now()}) - epoch_ms(now())`, ["set TimeZone = 'America/New_York'"]);
    expect(value).toBe("0");
  });

  it("declares a variable that the next statement reads, on DuckDB", async () => {
    const setup = [duckdb.declare("checkpoint", "TIMESTAMP", "select TIMESTAMP '2026-01-02 03:04:05'")];
    expect(await duckdbValue(duckdb.variable("checkpoint"), setup)).toBe("2026-01-02 03:04:05");
  });

  it("assigns a variable after a temporary table it reads, on DuckDB (nothing to declare first)", async () => {
    expect(duckdb.declareFirst("newest", "INT64")).toBe("");
    const setup = ["create or replace temp table t as select 41 as x union all select 42", duckdb.assign("newest", "INT64", "select max(x) from t")];
    expect(await duckdbValue(duckdb.variable("newest"), setup)).toBe("42");
  });

  it("aggregates cameras into a sorted array", async () => {
    expect(await duckdbValue(`(select ${duckdb.arrayAggSorted("x")} from (values (30), (10), (20)) as t(x))`)).toEqual([10, 20, 30]);
    expect(squash(bigquery.arrayAggSorted("x"))).toBe("ARRAY_AGG(x ORDER BY x)");
  });

  it("merges sorted camera sets into a sorted set, treating a missing side as empty", async () => {
    expect(await duckdbValue(duckdb.arrayUnion("[1, 3]::bigint[]", "[2, 3]::bigint[]"))).toEqual(["1", "2", "3"]);
    expect(await duckdbValue(duckdb.arrayUnion("[3]::bigint[]", "[1, 2]::bigint[]"))).toEqual(["1", "2", "3"]);
    expect(await duckdbValue(duckdb.arrayUnion("[2]::bigint[]", "[1, 2, 4]::bigint[]"))).toEqual(["1", "2", "4"]);
    expect(await duckdbValue(duckdb.arrayUnion("[4, 5]::bigint[]", "[4, 5]::bigint[]"))).toEqual(["4", "5"]);
    expect(await duckdbValue(duckdb.arrayUnion("[4, 5]::bigint[]", "null::bigint[]"))).toEqual(["4", "5"]);
    expect(await duckdbValue(duckdb.arrayLength("[7, 8, 9]"))).toBe("3");
    expect(squash(bigquery.arrayUnion("a", "b"))).toBe(
      "ARRAY(SELECT DISTINCT element FROM UNNEST(ARRAY_CONCAT(a, IFNULL(b, []))) AS element ORDER BY element)"
    );
  });

  it("asks whether a table is still small: a metadata COUNT(*) on BigQuery, a count that stops at the bound on DuckDB", async () => {
    expect(bigquery.fewerRowsThan("`p.d.t`", 10)).toBe("(select count(*) from `p.d.t`) < 10");
    expect(duckdb.fewerRowsThan("t", 10)).toMatch(/limit 10\b/);
    const fiveRows = ["create table t as select range as id from range(5)"];
    expect(await duckdbValue(duckdb.fewerRowsThan("t", 5), fiveRows)).toBe(false);
    expect(await duckdbValue(duckdb.fewerRowsThan("t", 6), fiveRows)).toBe(true);
    expect(await duckdbValue(duckdb.fewerRowsThan("t", 1), ["create table t (id int)"])).toBe(true);
  });

  it("quotes strings for each dialect so a quote in a path cannot end the literal", async () => {
    expect(bigquery.stringLiteral("gs://b/it's\\x")).toBe("'gs://b/it\\'s\\\\x'");
    expect(await duckdbValue(duckdb.stringLiteral("it's \\ fine"))).toBe("it's \\ fine");
  });

  it("loads Dataset B with LOAD DATA OVERWRITE on BigQuery and read_parquet on DuckDB", () => {
    const columns = [
      { name: "geographical_location_oid", type: "INT64" },
      { name: "geographical_location", type: "STRING" },
    ];
    expect(squash(bigquery.replaceTableFromParquet("`p.d.t`", "gs://bucket/b.parquet", columns))).toBe(
      "LOAD DATA OVERWRITE `p.d.t` (geographical_location_oid INT64, geographical_location STRING) FROM FILES (format = 'PARQUET', uris = ['gs://bucket/b.parquet'])"
    );
    expect(squash(duckdb.replaceTableFromParquet('"d"."t"', "/tmp/b.parquet", columns))).toBe(
      "CREATE OR REPLACE TABLE \"d\".\"t\" AS SELECT CAST(geographical_location_oid AS INT64) AS geographical_location_oid, CAST(geographical_location AS STRING) AS geographical_location FROM read_parquet('/tmp/b.parquet')"
    );
  });
});
