// The BigQuery compile, checked without BigQuery: every statement Dataform would run parses and uses
// only BigQuery's SQL; materialized views follow the incremental rules.
import { beforeAll, describe, expect, it } from "vitest";
import { lintBigQuery } from "../../lint/bigquery.ts";
import { bigQueryStatements } from "../../lint/bigquery_statements.ts";
import { formatFindings } from "../../lint/findings.ts";
import { lintMaterializedViews } from "../../lint/materialized_view.ts";
import { compileProject } from "../../runner/compile.ts";
import type { CompiledGraph } from "../../runner/graph.ts";

const DATASETS = new Set(["detections", "detections_raw", "detections_assertions"]);
let bigquery: CompiledGraph;
let duckdb: CompiledGraph;
beforeAll(async () => {
  [bigquery, duckdb] = await Promise.all([compileProject({}), compileProject({ warehouse: "duckdb" })]);
});

describe("the BigQuery compile", () => {
  it("covers every action: views, incremental merges and inserts, operations, assertions, unit tests", () => {
    const purposes = new Set(bigQueryStatements(bigquery).map((s) => s.purpose));
    // (No model is a plain table: the incremental ones' full refreshes are their CREATE TABLEs.)
    for (const purpose of ["create view", "incremental full refresh", "create materialized view", "incremental merge", "incremental insert", "operation", "assertion", "unit test query"]) {
      expect(purposes).toContain(purpose);
    }
  });

  it("passes the BigQuery checks with no finding", () => {
    expect(formatFindings(lintBigQuery(bigQueryStatements(bigquery), DATASETS))).toBe("");
  });

  it("is BigQuery SQL, which the same checks tell apart from the DuckDB compile", () => {
    const findings = formatFindings(lintBigQuery(bigQueryStatements(duckdb), DATASETS));
    expect(findings).toMatch(/getvariable\(\), which is DuckDB's/);
    expect(findings).toMatch(/SET VARIABLE/);
  });

  it("declares partitioning, clustering and retention where the models need them", () => {
    const sql = (name: string, purpose: string) => bigQueryStatements(bigquery).find((s) => s.action === `detections.${name}` && s.purpose === purpose)!.sql;
    expect(sql("detection_events", "incremental full refresh")).toMatch(/partition by DATE\(publish_time\)\ncluster by detection_oid, geographical_location_oid\nOPTIONS\(partition_expiration_days=365\)/);
    expect(sql("detection_events_enriched", "create materialized view")).toMatch(/OPTIONS\(enable_refresh=true, refresh_interval_minutes=1, max_staleness=INTERVAL "0:1:0" HOUR TO SECOND\)/);
    expect(sql("detection_counts_hourly", "incremental merge")).toMatch(/and DATAFORM_DEST\.detection_hour >= v_hours_from/);
  });
});

describe("scheduled runs read bounded slices", () => {
  it("every incremental read of detection_events filters its partition column, so BigQuery prunes a year of partitions", () => {
    const reads: string[] = [];
    for (const statement of bigQueryStatements(bigquery)) {
      if (!statement.purpose.startsWith("incremental") || statement.purpose.includes("full refresh")) continue;
      // Each FROM of the table, up to the end of its subquery or CTE.
      for (const match of statement.sql.matchAll(/(\(select count\(\*\) )?from `[^`]+\.detections\.detection_events`([^)]*)/g)) {
        const [, count, rest] = match;
        // detection_events counts its own rows (whether late copies wait for sweeps): a whole-table
        // COUNT(*), which BigQuery answers from table metadata without reading a partition.
        if (count && rest!.trim() === "") continue;
        reads.push(`${statement.action}: ${rest!.replace(/\s+/g, " ").trim()}`);
      }
    }
    expect(reads.length).toBeGreaterThanOrEqual(5);
    expect(reads.filter((read) => !/publish_time (>|>=|between)/.test(read))).toEqual([]);
  });
});

describe("materialized views", () => {
  it("are legal incremental materialized views with refresh options", () => {
    expect(bigquery.tables.filter((t) => t.materialized).map((t) => t.target.name)).toEqual(["detection_events_enriched"]);
    expect(formatFindings(lintMaterializedViews(bigquery))).toBe("");
  });

  it("a view with a window function or an outer join would be refused", () => {
    const broken = structuredClone(bigquery);
    const view = broken.tables.find((t) => t.materialized)!;
    view.query = view.query.replace("inner join", "left join").replace("count(*) as copies", "row_number() over (partition by raw_events.detection_oid order by raw_events.publish_time) as copies");
    const messages = lintMaterializedViews(broken).map((f) => f.message).join("\n");
    expect(messages).toMatch(/LEFT JOIN/);
    expect(messages).toMatch(/window function/);
  });
});
