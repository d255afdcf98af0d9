// The dashboard's HTTP side on a real loopback server (node:http with the handler, as the local stack
// mounts it): read-only, strict headers, a fixed set of files, validated parameters, friendly before any
// data, and the models' figures once there are some.
import { readFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboard, type Dashboard } from "../../dashboard/server.ts";
import { createWarehouse, type TestWarehouse } from "../support/warehouse.ts";
import { AWKWARD_NAMES, buildFixture, expected, type Fixture } from "./fixture.ts";

interface Served {
  dashboard: Dashboard;
  server: Server;
  url: string;
  statuses: number[];
}

async function serve(warehouse: TestWarehouse): Promise<Served> {
  const dashboard = createDashboard({ database: warehouse.db });
  const statuses: number[] = [];
  const server = createServer((req, res) => void dashboard.handler(req, res).then((status) => statuses.push(status)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { dashboard, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, statuses };
}

async function stop(served: Served | undefined): Promise<void> {
  if (!served) return;
  await new Promise<void>((resolve) => served.server.close(() => resolve()));
  served.dashboard.close();
}

/** A request with the path sent exactly as written (fetch would normalise "..", "%2e%2e" stays). */
function raw(url: string, method: string, pathname: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path: pathname }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Response bodies here are the API's JSON objects. */
const read = async (response: Response) => (await response.json()) as Record<string, any>;

describe("the dashboard server on an empty warehouse", () => {
  let warehouse: TestWarehouse;
  let served: Served;
  let url: string;
  beforeAll(async () => {
    warehouse = await createWarehouse();
    served = await serve(warehouse);
    url = served.url;
  });
  afterAll(async () => {
    await stop(served);
    await warehouse?.close();
  });

  it("answers before the first model run with empty figures, not errors", async () => {
    const response = await fetch(`${url}/api/overview`);
    expect(response.status).toBe(200);
    expect(await read(response)).toMatchObject({ realtime: { total: 0, locations: [] }, totals: { last24h: 0 }, lastRun: null, quality: { last24h: { eventsReceived: 0, duplicateRate: null } } });
    expect(await read(await fetch(`${url}/api/locations`))).toEqual({ total: 0, offset: 0, limit: 25, rows: [] });
    expect(await read(await fetch(`${url}/api/top-items`))).toEqual({ oid: null, name: null, items: [] });
    expect(await read(await fetch(`${url}/api/top-items?location=7`))).toEqual({ oid: 7, name: null, items: [] });
    expect(await read(await fetch(`${url}/api/realtime?location=7`))).toEqual({ oid: 7, minutes: 5, detections: 0 });
  });

  it("serves the page under a strict content security policy: no inline script or style, nothing from elsewhere", async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = page.headers.get("content-security-policy")!;
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await page.text();
    expect(html).toContain('<script src="/assets/chart.umd.min.js" defer></script>');
    expect(html).toContain('<script src="/assets/app.js" type="module"></script>');
    // Every script has a src (CSP would refuse an inline one), no style attribute or element, no URL off this origin.
    expect(html.match(/<script\b[^>]*>/g)!.every((tag) => /\ssrc="\/assets\//.test(tag))).toBe(true);
    expect(html).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect((await fetch(`${url}/index.html`)).status).toBe(200);
  });

  it("serves the page's assets with their types, and Chart.js from node_modules", async () => {
    const types: Record<string, RegExp> = {
      "/assets/app.js": /^text\/javascript/,
      "/assets/style.css": /^text\/css/,
      "/assets/favicon.svg": /^image\/svg\+xml/,
      "/favicon.svg": /^image\/svg\+xml/,
      "/assets/chart.umd.min.js": /^text\/javascript/,
    };
    for (const [asset, type] of Object.entries(types)) {
      const response = await fetch(`${url}${asset}`);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get("content-type"), asset).toMatch(type);
      expect(response.headers.get("x-content-type-options"), asset).toBe("nosniff");
    }
    const chartFile = path.join(path.dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js");
    const chart = Buffer.from(await (await fetch(`${url}/assets/chart.umd.min.js`)).arrayBuffer());
    expect(chart.equals(await readFile(chartFile))).toBe(true);
    const app = await (await fetch(`${url}/assets/app.js`)).text();
    expect(app).toBe(await readFile(path.join(import.meta.dirname, "..", "..", "dashboard", "page", "app.js"), "utf8"));
    // The page's own code fetches only its own API.
    expect(app).not.toMatch(/https?:\/\//);
  });

  it("answers HEAD with the headers and no body", async () => {
    for (const target of ["/", "/api/overview", "/assets/app.js"]) {
      const response = await raw(url, "HEAD", target);
      expect(response.status, target).toBe(200);
      expect(response.body, target).toBe("");
      expect(Number(response.headers["content-length"]), target).toBeGreaterThan(0);
    }
  });

  it("is read-only: every other method gets 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      const response = await raw(url, method, "/api/overview");
      expect(response.status, method).toBe(405);
      expect(response.headers.allow, method).toBe("GET, HEAD");
      expect(response.headers["content-type"]).toMatch(/^application\/json/);
      expect(JSON.parse(response.body).error).toMatch(/read-only/);
    }
    const post = await fetch(`${url}/`, { method: "POST", body: "{}" });
    expect(post.status).toBe(405);
  });

  it("serves no other file: traversal and unknown paths get a JSON 404", async () => {
    const probes = [
      "/assets/../package.json",
      "/assets/%2e%2e/package.json",
      "/assets/..%2fserver.ts",
      "/assets/%2e%2e%2f%2e%2e%2fpackage.json",
      "/assets/..%5c..%5cpackage.json",
      "/assets/server.ts",
      "/assets/queries.ts",
      "/assets/page/app.js",
      "/assets/",
      "/assets/app.js%00.css",
      "/../../../etc/passwd",
      "//etc/passwd",
      "/package.json",
      "/api/",
      "/api/nothing",
      "/dashboard/server.ts",
    ];
    for (const probe of probes) {
      const response = await raw(url, "GET", probe);
      expect(response.status, probe).toBe(404);
      expect(response.headers["content-type"], probe).toMatch(/^application\/json/);
      expect(response.body, probe).not.toContain("import ");
      expect(JSON.parse(response.body).error, probe).toMatch(/nothing at/);
    }
  });

  it("validates its parameters with messages that say what is wrong", async () => {
    const cases: Array<[string, RegExp]> = [
      ["/api/locations?limit=1000", /limit: at most 100/],
      ["/api/locations?limit=0", /limit: at least 1/],
      ["/api/locations?limit=ten", /limit/],
      ["/api/locations?offset=-1", /offset: 0 or more/],
      ["/api/locations?offset=1.5", /offset: a whole number/],
      [`/api/locations?q=${"x".repeat(201)}`, /q: at most 200 characters/],
      ["/api/top-items?location=1%20or%201=1", /location: a geographical_location_oid/],
      ["/api/top-items?location=9223372036854775808", /within int64/],
      ["/api/realtime", /location: required/],
      ["/api/realtime?location=", /location: a geographical_location_oid/],
    ];
    for (const [target, message] of cases) {
      const response = await fetch(`${url}${target}`);
      expect(response.status, target).toBe(400);
      expect((await read(response)).error, target).toMatch(message);
    }
    expect((await fetch(`${url}/api/top-items?location=-9223372036854775808`)).status).toBe(200);
    expect((await fetch(`${url}/api/locations?limit=100&offset=0&q=`)).status).toBe(200);
  });

  it("keeps the API out of caches and under the same headers", async () => {
    const response = await fetch(`${url}/api/overview`);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect((await fetch(`${url}/`)).headers.get("cache-control")).toBe("no-cache");
  });

  it("resolves the handler with the status it sent", () => {
    expect(served.statuses).toContain(200);
    expect(served.statuses).toContain(400);
    expect(served.statuses).toContain(404);
    expect(served.statuses).toContain(405);
  });
});

describe("the dashboard server on known data", () => {
  let fixture: Fixture;
  let served: Served;
  let url: string;
  beforeAll(async () => {
    fixture = await buildFixture({ seed: 3, detections: 800 });
    served = await serve(fixture.warehouse);
    url = served.url;
  });
  afterAll(async () => {
    await stop(served);
    await fixture?.warehouse.close();
  });

  it("serves the models' figures: the last run, top items, a literal search", async () => {
    const overview = await read(await fetch(`${url}/api/overview`));
    expect(overview.lastRun).toMatchObject({ ok: true, assertionsFailed: 0 });
    expect(overview.generatedAt).toBeGreaterThanOrEqual(fixture.at.getTime());
    const want = expected(fixture, new Date(overview.generatedAt));
    expect(overview.realtime.total).toBe(want.realtime.total);
    expect(overview.totals).toEqual(want.totals);

    const location = fixture.locations[0]!.geographical_location_oid;
    expect((await read(await fetch(`${url}/api/top-items?location=${location}`))).items).toEqual(want.topItems(location));
    const far = await read(await fetch(`${url}/api/top-items?location=9007199254740993`));
    expect(far.oid).toBe("9007199254740993");
    expect(far.items).toEqual(want.topItems(2n ** 53n + 1n));

    for (const q of ["'; drop table x; --", "%", "_", "o'brien"]) {
      const page = await read(await fetch(`${url}/api/locations?${new URLSearchParams({ q })}`));
      expect(page.rows.map((r: { name: string }) => r.name), q).toEqual(want.search(q).map((r) => r.name));
      expect(page.total, q).toBe(1);
    }
    expect((await read(await fetch(`${url}/api/locations?q=${encodeURIComponent(AWKWARD_NAMES.injection)}`))).total).toBe(1);
  });

  it("serves concurrent requests one query at a time on its own connection", async () => {
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(`${url}${i % 3 === 0 ? "/api/overview" : i % 3 === 1 ? "/api/locations?limit=5" : "/api/top-items"}`)));
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    await Promise.all(responses.map((r) => r.arrayBuffer()));
  });

  it("stops answering the API once closed, still serving the page", async () => {
    served.dashboard.close();
    const response = await fetch(`${url}/api/overview`);
    expect(response.status).toBe(503);
    expect((await fetch(`${url}/`)).status).toBe(200);
  });
});
