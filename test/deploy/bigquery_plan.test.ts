// The deploy plan's BigQuery part: the datasets and the raw table as the official client sends them,
// against a loopback stand-in for the REST API (no BigQuery here): created once, nothing on a second
// run, drift patched field by field, and the raw table's columns exactly the local raw table's.
import { BigQuery } from "@google-cloud/bigquery";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { datasetProvider, tableProvider } from "../../deploy/bigquery_provider.ts";
import { bigqueryResources, RAW_SCHEMA } from "../../deploy/bigquery_resources.ts";
import { apply, plan } from "../../deploy/plan.ts";
import { openDatabase } from "../../runner/database.ts";
import { ensureRawTables } from "../../runner/raw_tables.ts";
import { startFakeBigQuery, type FakeBigQuery } from "../support/fake_bigquery.ts";

const CONFIG = { project: "acme-vision-prod", region: "europe-west1" };
let fake: FakeBigQuery;
let client: BigQuery;
beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = "none";
  fake = await startFakeBigQuery();
  client = new BigQuery({ projectId: CONFIG.project, apiEndpoint: fake.endpoint });
});
afterAll(async () => fake.close());

describe("the BigQuery part of the deploy plan", () => {
  it("creates the datasets in the region and the raw table partitioned by day of publish_time, then plans nothing", async () => {
    const providers = [datasetProvider(client), tableProvider(client)];
    const resources = bigqueryResources(CONFIG);
    const first = await plan(resources, providers);
    expect(first.map((c) => `${c.action} ${c.resource.name}`)).toEqual([
      "create detections_raw",
      "create detections",
      "create detections_assertions",
      "create detections_raw.raw_detection_events",
    ]);
    await apply(first, providers);

    const posts = fake.requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => r.path)).toEqual([
      "/bigquery/v2/projects/acme-vision-prod/datasets",
      "/bigquery/v2/projects/acme-vision-prod/datasets",
      "/bigquery/v2/projects/acme-vision-prod/datasets",
      "/bigquery/v2/projects/acme-vision-prod/datasets/detections_raw/tables",
    ]);
    expect(posts[0]!.body).toMatchObject({ datasetReference: { datasetId: "detections_raw" }, location: "europe-west1", defaultPartitionExpirationMs: "604800000" });
    expect(posts[1]!.body).toMatchObject({ datasetReference: { datasetId: "detections" }, location: "europe-west1", defaultPartitionExpirationMs: String(365 * 86_400_000) });
    expect(posts[3]!.body).toMatchObject({
      tableReference: { tableId: "raw_detection_events" },
      timePartitioning: { type: "DAY", field: "publish_time", expirationMs: "604800000" },
      clustering: { fields: ["publish_time"] },
      schema: { fields: RAW_SCHEMA },
    });

    fake.requests.length = 0;
    const second = await plan(resources, providers);
    expect(second.every((c) => c.action === "keep")).toBe(true);
    expect(fake.requests.every((r) => r.method === "GET")).toBe(true);
  });

  it("patches only the field that drifted", async () => {
    const providers = [datasetProvider(client), tableProvider(client)];
    fake.store.set("detections_raw", { ...fake.store.get("detections_raw"), defaultPartitionExpirationMs: "86400000" });
    const drifted = await plan(bigqueryResources(CONFIG), providers);
    expect(drifted.filter((c) => c.action === "update").map((c) => [c.resource.name, c.differences])).toEqual([
      ["detections_raw", [{ path: "defaultPartitionExpirationMs", current: "86400000", desired: "604800000" }]],
    ]);
    fake.requests.length = 0;
    await apply(drifted, providers);
    expect(fake.requests).toEqual([{ method: "PATCH", path: "/bigquery/v2/projects/acme-vision-prod/datasets/detections_raw", body: { defaultPartitionExpirationMs: "604800000" } }]);
    expect((await plan(bigqueryResources(CONFIG), providers)).every((c) => c.action === "keep")).toBe(true);
  });

  it("refuses to move a dataset to another region, saying why", async () => {
    const providers = [datasetProvider(client), tableProvider(client)];
    const elsewhere = await plan(bigqueryResources({ ...CONFIG, region: "us-central1" }), providers);
    await expect(apply(elsewhere, providers)).rejects.toThrow(/dataset detections_raw is in another location; a dataset cannot move/);
  });

  it("gives the raw table the local raw table's columns, in order, with BigQuery's types", async () => {
    const db = await openDatabase(":memory:");
    try {
      await ensureRawTables(db.connection, "detections_raw");
      const reader = await db.connection.runAndReadAll("select column_name, data_type from information_schema.columns where table_catalog = 'detections_raw' and table_name = 'raw_detection_events' order by ordinal_position");
      const bigqueryType: Record<string, string> = { VARCHAR: "STRING", BIGINT: "INTEGER", TIMESTAMP: "TIMESTAMP", JSON: "JSON" };
      expect(RAW_SCHEMA.map((f) => [f.name, f.type])).toEqual(reader.getRowObjectsJS().map((r) => [r.column_name, bigqueryType[String(r.data_type)]]));
    } finally {
      db.close();
    }
  });
});
