// One project, two dialects: the BigQuery and DuckDB compiles must describe the same graph.
import { beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../runner/compile.ts";
import { actionsInOrder, type CompiledGraph } from "../../runner/graph.ts";
import { toDuckdbSql } from "../../runner/statements.ts";

let bigquery: CompiledGraph;
let duckdb: CompiledGraph;
beforeAll(async () => {
  [bigquery, duckdb] = await Promise.all([compileProject({}), compileProject({ warehouse: "duckdb", locations_uri: "/tmp/b.parquet" })]);
});

/** Everything about an action except its SQL text. */
function shape(graph: CompiledGraph) {
  return actionsInOrder(graph).map((action) => ({
    name: action.name,
    kind: action.kind,
    deps: [...action.deps].sort(),
    tags: [...action.tags].sort(),
    ...(action.kind === "operation" ? { hasOutput: action.operation.hasOutput ?? false } : {}),
    ...("table" in action
      ? {
          uniqueKey: action.table.uniqueKey ?? [],
          // The partition filter is SQL (it reads a script variable), so only its column is compared.
          bigquery: { ...action.table.bigquery, updatePartitionFilter: action.table.bigquery?.updatePartitionFilter?.split(" ")[0] },
          incremental: action.table.incrementalQuery !== undefined,
          preOps: (action.table.preOps ?? []).length,
          incrementalPreOps: (action.table.incrementalPreOps ?? []).length,
        }
      : {}),
  }));
}

describe("the BigQuery and DuckDB compiles", () => {
  it("have the same actions, dependencies, types, tags, keys and options", () => {
    expect(shape(duckdb)).toEqual(shape(bigquery));
    expect(bigquery.tests.map((t) => t.name)).toEqual(duckdb.tests.map((t) => t.name));
    expect(bigquery.declarations.map((d) => d.target)).toEqual(duckdb.declarations.map((d) => d.target));
  });

  it("have every model DESIGN.md names", () => {
    const names = new Set(bigquery.tables.map((t) => `${t.target.schema}.${t.target.name}`));
    for (const model of ["detection_events", "detection_events_enriched", "detection_counts_hourly", "top_items_by_location", "pipeline_quality_hourly"]) {
      expect(names).toContain(`detections.${model}`);
    }
    expect(bigquery.operations.map((o) => `${o.target.schema}.${o.target.name}`)).toContain("detections_raw.geographical_locations");
  });

  it("differ in SQL only, and the DuckDB one leaves no backticked path once the runner rewrites it", () => {
    const sqlOf = (g: CompiledGraph) => g.tables.map((t) => [t.query, t.incrementalQuery ?? "", ...(t.incrementalPreOps ?? [])].join("\n")).join("\n");
    expect(sqlOf(duckdb)).not.toEqual(sqlOf(bigquery));
    expect(toDuckdbSql(sqlOf(duckdb))).not.toMatch(/`[^`]+\.[^`]+\.[^`]+`/);
    expect(sqlOf(duckdb)).toContain("getvariable(");
    expect(sqlOf(bigquery)).not.toContain("getvariable(");
  });
});
