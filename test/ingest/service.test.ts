// The service on a real loopback port with the real DuckDB sink on a temporary file.
import { Writable } from "node:stream";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../ingest/config.ts";
import { createLogger } from "../../ingest/logging.ts";
import { startService, type Service } from "../../ingest/service.ts";
import { startLocalService } from "../support/local_service.ts";

const TOKEN = "camera-secret-1";
let dir: string;
let service: Service;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-ingest-"));
  const config = loadConfig({ SIGHTLINE_LOCAL: "true", PORT: "0", HOST: "127.0.0.1", SIGHTLINE_DB: path.join(dir, "w.duckdb"), AUTH_TOKENS: TOKEN, GOOGLE_CLOUD_PROJECT: "proj" });
  const sinkStream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  service = await startService(config, { logger: createLogger("info", sinkStream) });
});

afterAll(async () => {
  await service.close();
  await rm(dir, { recursive: true, force: true });
});

const good = (id: number | string, item = "car") => ({ detection_oid: id, video_camera_oid: 7, geographical_location_oid: 3, item_name: item, timestamp_detected: 1700000000000 });

async function post(body: string | Buffer, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.url}/v1/detections`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

async function rawRows(where: string) {
  // The database's own connection, not the sink's: it sees only committed rows.
  return service.query(`select detection_oid::varchar as id, item_name, message_id, publish_time from detections_raw.raw_detection_events where ${where} order by message_id`);
}

describe("POST /v1/detections", () => {
  it("accepts a JSON array, stores each event once, and answers 202 after the commit", async () => {
    const result = await post(JSON.stringify([good(101), good(102)]));
    expect(result).toMatchObject({ status: 202, body: { accepted: 2, rejected: 0, errors: [] } });
    expect((await rawRows("detection_oid in (101, 102)")).map((r) => r.id)).toEqual(["101", "102"]);
  });

  it("keeps the valid events of a partly bad batch and reports the others by index, into the dead letters", async () => {
    const result = await post(JSON.stringify([good(201), { ...good(202), item_name: "" }, good(203), { nope: true }]));
    expect(result.status).toBe(202);
    expect(result.body).toMatchObject({ accepted: 2, rejected: 2 });
    expect(result.body.errors).toEqual([
      { index: 1, reason: "item_name: must not be empty" },
      { index: 3, reason: expect.stringContaining("detection_oid: is required") },
    ]);
    expect((await rawRows("detection_oid between 201 and 203")).map((r) => r.id)).toEqual(["201", "203"]);
  });

  it("takes NDJSON, ids beyond 2^53 as strings, and unicode or SQL-hostile names verbatim", async () => {
    const hostile = `Robert'); DROP TABLE detections;-- ☃ e\u0301 😀 \\ "q"`;
    const body = [good("9223372036854775807", hostile), good("9007199254740993")].map((e) => JSON.stringify(e)).join("\n");
    const result = await post(body, { "content-type": "application/x-ndjson" });
    expect(result.body).toMatchObject({ accepted: 2, rejected: 0 });
    const rows = await rawRows("detection_oid in (9223372036854775807, 9007199254740993)");
    expect(rows.map((r) => [r.id, r.item_name])).toEqual([["9223372036854775807", hostile], ["9007199254740993", "car"]]);
  });

  it("stores what the validator read when DuckDB would read the body differently (a repeated key)", async () => {
    const body = '[{"detection_oid":801,"detection_oid":802,"video_camera_oid":7,"geographical_location_oid":3,"item_name":"car","timestamp_detected":1700000000000}]';
    const result = await post(body);
    expect(result.body).toMatchObject({ accepted: 1, rejected: 0 });
    expect((await rawRows("detection_oid in (801, 802)")).map((r) => r.id)).toEqual(["802"]);
  });

  it("commits concurrent arrays, NDJSON and partly rejected batches together, each event once", async () => {
    const ids = (from: number) => Array.from({ length: 50 }, (_, i) => from + i);
    const results = await Promise.all([
      post(JSON.stringify(ids(900).map((id) => good(id)))),
      post(ids(1000).map((id) => JSON.stringify(good(id))).join("\n"), { "content-type": "application/x-ndjson" }),
      post(JSON.stringify([...ids(1100).map((id) => good(id)), { ...good(1199), item_name: "" }])),
      post(JSON.stringify(ids(1200).map((id) => good(String(id), "ü"))))
    ]);
    expect(results.map((r) => r.body.accepted)).toEqual([50, 50, 50, 50]);
    const rows = await rawRows("detection_oid between 900 and 1299");
    expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([...ids(900), ...ids(1000), ...ids(1100), ...ids(1200)]);
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(200);
  });

  it.each([
    ["a malformed body", "[{", {}, 400, /not valid JSON/],
    ["an object instead of an array", '{"detection_oid":1}', {}, 400, /must be a JSON array/],
    ["invalid UTF-8", Buffer.from([0x5b, 0xff, 0x5d]), {}, 400, /not valid UTF-8/],
    ["another content type", "[]", { "content-type": "text/plain" }, 415, /Content-Type must be application\/json/],
    ["no token", "[]", { authorization: "" }, 401, /bearer token/],
    ["a wrong token", "[]", { authorization: "Bearer camera-secret-2" }, 401, /bearer token/],
    ["10,001 events", JSON.stringify(Array(10_001).fill(good(1))), {}, 413, /at most 10,000 events/],
    ["a body over 8 MiB", `[${" ".repeat(8 * 1024 * 1024)}]`, {}, 413, /limit of|the limit is/],
  ])("answers %s with a clear JSON error", async (_name, body, headers, status, message) => {
    const result = await post(body as string, headers as Record<string, string>);
    expect(result.status).toBe(status);
    expect(result.body.error).toMatch(message);
  });

  it("stores nothing from a request it refused", async () => {
    await post(JSON.stringify([good(301)]), { authorization: "Bearer wrong" });
    await post(JSON.stringify([good(302)]), { "content-type": "text/csv" });
    expect(await rawRows("detection_oid in (301, 302)")).toEqual([]);
  });

  it("gives every event its own message id and each commit a later publish_time", async () => {
    await post(JSON.stringify([good(401), good(401)]));
    await post(JSON.stringify([good(402)]));
    const rows = await rawRows("detection_oid in (401, 402)");
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(3);
    const first = rows.filter((r) => r.id === "401").map((r) => String(r.publish_time));
    const second = String(rows.find((r) => r.id === "402")!.publish_time);
    expect(second > first[0]!).toBe(true);
  });
});

describe("health, readiness, metrics and logs", () => {
  it("serves /health and /ready (and the z aliases locally)", async () => {
    for (const route of ["/health", "/healthz"]) expect((await fetch(`${service.url}${route}`)).status).toBe(200);
    for (const route of ["/ready", "/readyz"]) expect(await (await fetch(`${service.url}${route}`)).json()).toEqual({ status: "ready", sink: "duckdb" });
  });

  it("counts accepted and rejected events by reason in Prometheus format", async () => {
    await post(JSON.stringify([good(501), { ...good(502), video_camera_oid: 1.5 }]));
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(Number(/^sightline_events_accepted_total (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^sightline_events_rejected_total\{reason="video_camera_oid"\} [1-9]/m);
    expect(text).toMatch(/^sightline_request_duration_seconds_bucket\{le="0.1",route="\/v1\/detections",status="202"\} [1-9]/m);
    expect(text).toMatch(/^sightline_sink_batch_events_count [1-9]/m);
  });

  it("logs each request in Cloud Logging's shape with its trace, and never the payload or the token", async () => {
    const trace = "0123456789abcdef0123456789abcdef";
    await post(JSON.stringify([good(601, "secret-item-name")]), { "x-cloud-trace-context": `${trace}/1;o=1` });
    const line = logLines.find((l) => l["logging.googleapis.com/trace"] === `projects/proj/traces/${trace}`);
    expect(line).toMatchObject({ severity: "INFO", message: "request", httpRequest: { requestMethod: "POST", status: 202 } });
    // The age of the batch's oldest detection, which production's lag alert reads from these lines.
    expect(Math.abs((line!.detectionLagSeconds as number) - (Date.now() - 1_700_000_000_000) / 1000)).toBeLessThan(30);
    const all = JSON.stringify(logLines);
    expect(all).not.toContain("secret-item-name");
    expect(all).not.toContain(TOKEN);
  });
});

describe("configuration", () => {
  it("lists every bad variable at once", () => {
    expect(() => loadConfig({ PORT: "http", SINK: "kafka", MAX_BODY_BYTES: "-1" })).toThrow(
      /PORT: .*\n.*SINK: .*\n.*MAX_BODY_BYTES: /
    );
  });

  it("gives DuckDB one thread in the service's own database unless DUCKDB_THREADS says otherwise", async () => {
    // Asked on the sink's thread, which opened the file.
    const threads = async (of: Service) => (await of.query("select current_setting('threads')::integer as n"))[0]!.n;
    expect(await threads(service)).toBe(1);
    const two = await startLocalService({ DUCKDB_THREADS: "2" });
    try {
      expect(await threads(two.service)).toBe(2);
    } finally {
      await two.stop();
    }
    expect(() => loadConfig({ SIGHTLINE_LOCAL: "true", DUCKDB_THREADS: "0" })).toThrow(/DUCKDB_THREADS/);
  });

  it("requires tokens outside local mode and not in it", () => {
    expect(() => loadConfig({})).toThrow(/AUTH_TOKENS is required outside local mode/);
    expect(loadConfig({ SIGHTLINE_LOCAL: "true" })).toMatchObject({ sink: "duckdb", authTokens: [] });
  });
});

describe("overload", () => {
  it("sheds load with 503 and Retry-After while too many bytes are in flight, and recovers", async () => {
    // A sink that holds writes until released stands in for a slow Pub/Sub: what is under test is the
    // service's bound on bytes in flight.
    const held: (() => void)[] = [];
    const slowSink = {
      name: "slow",
      isReady: () => true,
      close: async () => {},
      write: (events: unknown[]) => new Promise<{ written: number }>((resolve) => held.push(() => resolve({ written: events.length }))),
    };
    const config = loadConfig({ SIGHTLINE_LOCAL: "true", PORT: "0", HOST: "127.0.0.1", MAX_INFLIGHT_BYTES: String(100 * 1024) });
    const slow = await startService(config, { logger: createLogger("silent"), sink: slowSink });
    try {
      const body = JSON.stringify(Array.from({ length: 700 }, (_, i) => good(i)));
      expect(body.length).toBeGreaterThan(60 * 1024);
      const send = () => fetch(`${slow.url}/v1/detections`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const first = send();
      while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const shed = await send();
      expect(shed.status).toBe(503);
      expect(shed.headers.get("retry-after")).toBe("1");
      expect(((await shed.json()) as { error: string }).error).toMatch(/at capacity/);
      held.shift()!();
      expect((await first).status).toBe(202);
      const later = send();
      while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      held.shift()!();
      expect((await later).status).toBe(202);
    } finally {
      await slow.close();
    }
  });
});
