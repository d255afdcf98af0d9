// The Looker Studio Linking API URL: one data source per model, each pointing at the BigQuery table the
// compiled graph really creates, and inputs that could not be a project, dataset or report refused.
import { beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../runner/compile.ts";
import type { CompiledGraph } from "../../runner/graph.ts";
import { REPORT_SOURCES, reportLink } from "../../deploy/looker_studio.ts";

let graph: CompiledGraph;
beforeAll(async () => {
  graph = await compileProject({});
});

const params = (url: string) => {
  const parsed = new URL(url);
  expect(`${parsed.origin}${parsed.pathname}`).toBe("https://lookerstudio.google.com/reporting/create");
  return parsed.searchParams;
};

describe("sightline dashboard-url", () => {
  it("with a template: one BigQuery data source per alias, on tables the production compile creates", () => {
    const p = params(reportLink({ project: "acme-vision-prod", templateReportId: "0B_abcdefgh-123" }));
    expect(p.get("c.reportId")).toBe("0B_abcdefgh-123");
    const created = new Set(graph.tables.map((t) => `${t.target.schema}.${t.target.name}`));
    for (const [alias, source] of Object.entries(REPORT_SOURCES)) {
      expect(p.get(`ds.${alias}.connector`)).toBe("bigQuery");
      expect(p.get(`ds.${alias}.type`)).toBe("TABLE");
      expect(p.get(`ds.${alias}.projectId`)).toBe("acme-vision-prod");
      expect(p.get(`ds.${alias}.billingProjectId`)).toBe("acme-vision-prod");
      expect(p.get(`ds.${alias}.datasetId`)).toBe("detections");
      expect(created.has(`detections.${p.get(`ds.${alias}.tableId`)}`), source.table).toBe(true);
    }
  });

  it("without a template: Looker Studio's blank report on the real-time model", () => {
    const p = params(reportLink({ project: "acme-vision-prod", billingProject: "acme-bi-billing", dataset: "detections_eu", reportName: "Cameras" }));
    expect(p.has("c.reportId")).toBe(false);
    expect(p.get("r.reportName")).toBe("Cameras");
    expect(p.get("ds.ds0.tableId")).toBe("detection_events_enriched");
    expect(p.get("ds.ds0.datasetId")).toBe("detections_eu");
    expect(p.get("ds.ds0.billingProjectId")).toBe("acme-bi-billing");
    expect([...p.keys()].filter((k) => k.startsWith("ds.") && !k.startsWith("ds.ds0."))).toEqual([]);
  });

  it("refuses what cannot be a project, a dataset or a report id, saying which", () => {
    expect(() => reportLink({ project: "Acme Prod" })).toThrow(/project "Acme Prod" is not a Google Cloud project id/);
    expect(() => reportLink({ project: "acme-vision-prod", dataset: "detections&ds.x.tableId=y" })).toThrow(/is not a BigQuery dataset id/);
    expect(() => reportLink({ project: "acme-vision-prod", templateReportId: "../x" })).toThrow(/does not look like a Looker Studio report id/);
  });
});
