// Dataform's release and workflow configurations: they compile the project as the checks do, select
// only tags the graph has, and between them run every model.
import { beforeAll, describe, expect, it } from "vitest";
import { dataformBodies, unknownTags, WORKFLOWS } from "../../deploy/dataform_resources.ts";
import { lintBigQuery } from "../../lint/bigquery.ts";
import { bigQueryStatements } from "../../lint/bigquery_statements.ts";
import { formatFindings } from "../../lint/findings.ts";
import { compileProject } from "../../runner/compile.ts";
import type { CompiledGraph } from "../../runner/graph.ts";

const CONFIG = { project: "acme-vision-prod", region: "europe-west1", bucket: "acme-sightline-reference" };
const bodies = dataformBodies(CONFIG);
let graph: CompiledGraph;
beforeAll(async () => {
  // The release configuration's compile: its vars, as Dataform would pass them.
  graph = await compileProject(bodies.releaseConfig.codeCompilationConfig.vars);
});

describe("Dataform release and workflow configurations", () => {
  it("compile main for BigQuery with production's vars, and that compile passes the BigQuery checks", () => {
    expect(bodies.releaseConfig).toMatchObject({ name: "projects/acme-vision-prod/locations/europe-west1/repositories/sightline/releaseConfigs/production", gitCommitish: "main" });
    expect(bodies.releaseConfig.codeCompilationConfig.vars).toEqual({ warehouse: "bigquery", raw_dataset: "detections_raw", locations_uri: "gs://acme-sightline-reference/geographical_locations.parquet" });
    expect(formatFindings(lintBigQuery(bigQueryStatements(graph), new Set(["detections", "detections_raw", "detections_assertions"])))).toBe("");
    const load = bigQueryStatements(graph).find((s) => s.action === "detections_raw.geographical_locations")!;
    expect(load.sql).toContain("gs://acme-sightline-reference/geographical_locations.parquet");
  });

  it("select only tags the compiled graph has", () => {
    for (const workflow of bodies.workflowConfigs) expect(unknownTags(graph, workflow.invocationConfig.includedTags), workflow.name).toEqual([]);
    expect(unknownTags(graph, ["realtime", "real-time"])).toEqual(["real-time"]);
  });

  it("run every model and operation on some schedule, the real-time ones every 5 minutes", () => {
    const scheduled = new Set<string>(WORKFLOWS.flatMap((w) => w.tags));
    const unscheduled = [...graph.tables, ...graph.operations].filter((a) => !(a.tags ?? []).some((t) => scheduled.has(t))).map((a) => a.target.name);
    expect(unscheduled).toEqual([]);
    const realtime = bodies.workflowConfigs.find((w) => w.name.endsWith("/realtime"))!;
    expect(realtime.cronSchedule).toBe("*/5 * * * *");
    const realtimeModels = graph.tables.filter((t) => t.tags?.includes("realtime")).map((t) => t.target.name).sort();
    expect(realtimeModels).toEqual(["detection_events", "detection_events_enriched", "stg_detection_events"]);
    for (const workflow of bodies.workflowConfigs) expect(workflow.invocationConfig.serviceAccount).toBe("sightline-dataform@acme-vision-prod.iam.gserviceaccount.com");
  });
});
