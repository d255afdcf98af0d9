// The dashboard's HTTP side on a real loopback server over a real (empty, then filled) DuckDB file:
// read-only, strict headers, a fixed set of files, validated parameters, friendly before any data.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboard, type Dashboard } from "../../dashboard/server.ts";
import { ensureRunLog } from "../../runner/run_log.ts";
import { createWarehouse, insertRawEvents, writeLocations, type TestWarehouse } from "../support/warehouse.ts";

let warehouse: TestWarehouse;
let dashboard: Dashboard;
let server: Server;
let url: string;
/** Response bodies in these tests are the API's JSON objects. */
const read = async (response: Response) => (await response.json()) as Record<string, any>;

beforeAll(async () => {
  warehouse = await createWarehouse();
  dashboard = createDashboard({ database: warehouse.db });
  server = createServer((req, res) => void dashboard.handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  dashboard.close();
  await warehouse.close();
});

describe("the dashboard server", () => {
  it("answers before the first model run with empty figures, not errors", async () => {
    const response = await fetch(`${url}/api/overview`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ realtime: { total: 0, locations: [] }, hourly: [], lastRun: null, quality: { eventsReceived: 0, duplicateRate: null } });
    expect(await read(await fetch(`${url}/api/locations`))).toEqual({ total: 0, rows: [] });
  });

  it("serves the page and its assets with a strict content security policy, and Chart.js from node_modules", async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await page.text();
    expect(html).toContain('src="/assets/chart.umd.min.js"');
    expect(html).not.toMatch(/https?:\/\//);
    const chart = await fetch(`${url}/assets/chart.umd.min.js`);
    expect(chart.status).toBe(200);
    expect(chart.headers.get("content-type")).toMatch(/javascript/);
    expect((await chart.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${url}/assets/app.js`)).status).toBe(200);
  });

  it("is read-only and serves no other file", async () => {
    const post = await fetch(`${url}/api/overview`, { method: "POST", body: "{}" });
    expect(post.status).toBe(405);
    expect((await read(post)).error).toMatch(/read-only/);
    expect((await fetch(`${url}/`, { method: "DELETE" })).status).toBe(405);
    for (const probe of ["/assets/../package.json", "/assets/%2e%2e/package.json", "/assets/server.ts", "/../../etc/passwd"]) {
      expect((await fetch(`${url}${probe}`)).status, probe).toBe(404);
    }
  });

  it("validates its parameters with messages that say what is wrong", async () => {
    const tooMany = await fetch(`${url}/api/locations?limit=1000`);
    expect(tooMany.status).toBe(400);
    expect((await read(tooMany)).error).toMatch(/limit: at most 100/);
    const badLocation = await fetch(`${url}/api/top-items?location=1%20or%201=1`);
    expect(badLocation.status).toBe(400);
    expect((await read(badLocation)).error).toMatch(/location: a geographical_location_oid/);
  });

  it("reads the models: top items and a literal search after a model run", async () => {
    await writeLocations(warehouse, [
      { geographical_location_oid: 1n, geographical_location: "50% Plaza" },
      { geographical_location_oid: 2n, geographical_location: "O'Brien Street" },
      { geographical_location_oid: 3n, geographical_location: "5000 Plaza" },
    ]);
    const now = Date.now();
    const detections: Array<[bigint, string]> = [[1n, "car"], [1n, "bus"], [1n, "car"], [2n, "dog"], [3n, "car"], [3n, "bus"]];
    await insertRawEvents(
      warehouse,
      detections.map(([location, item], i) => ({ message_id: `m${i}`, publish_time: new Date(now - 2000), detection_oid: BigInt(i + 1), video_camera_oid: 10n, geographical_location_oid: location, item_name: item, timestamp_detected: BigInt(now - 3000) }))
    );
    await ensureRunLog(warehouse.db.connection);
    expect((await warehouse.transformer.run()).ok).toBe(true);

    const top = await read(await fetch(`${url}/api/top-items?location=1`));
    expect(top).toEqual({ oid: 1, name: "50% Plaza", items: [{ rank: 1, item: "car", count: 2 }, { rank: 2, item: "bus", count: 1 }] });
    expect(await read(await fetch(`${url}/api/realtime?location=1`))).toEqual({ oid: 1, minutes: 5, detections: 3 });
    expect(await read(await fetch(`${url}/api/realtime?location=99`))).toEqual({ oid: 99, minutes: 5, detections: 0 });
    const percent = await read(await fetch(`${url}/api/locations?q=${encodeURIComponent("50%")}`));
    expect(percent.rows.map((r: { name: string }) => r.name)).toEqual(["50% Plaza"]);
    const quote = await read(await fetch(`${url}/api/locations?q=${encodeURIComponent("o'brien")}`));
    expect(quote.rows.map((r: { name: string }) => r.name)).toEqual(["O'Brien Street"]);
    const hostile = await (await fetch(`${url}/api/locations?q=${encodeURIComponent("' or 1=1; drop table detections.detection_events; --")}`)).json();
    expect(hostile).toEqual({ total: 0, rows: [] });
    const overview = await read(await fetch(`${url}/api/overview`));
    expect(overview.realtime.total).toBe(6);
    expect(overview.totals.last24h).toBe(6);
  });
});
