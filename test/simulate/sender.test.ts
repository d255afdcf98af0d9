// The simulator's sender against a real ingest service on a loopback port (DuckDB sink on a temporary
// file), and against small servers that shed load, drop connections, refuse, or answer slowly:
// acknowledged events are exactly the stored ones, refused batches are re-sent rather than dropped, and
// the schedule holds the rate.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../ingest/config.ts";
import { startService, type Service } from "../../ingest/service.ts";
import { DEFAULT_STREAM, type SimulatedEvent } from "../../simulate/events.ts";
import { detectionsEndpoint, retryAfterMs, sendStream, simulate, type Progress } from "../../simulate/sender.ts";

let dir: string;
let service: Service;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-simulate-"));
  service = await startService(loadConfig({ SIGHTLINE_LOCAL: "true", PORT: "0", HOST: "127.0.0.1", SIGHTLINE_DB: path.join(dir, "w.duckdb"), LOG_LEVEL: "silent" }));
});
afterAll(async () => {
  await service.close();
  await rm(dir, { recursive: true, force: true });
});

const byOid = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

describe("sending the simulated stream to the ingest service", () => {
  it("reports exactly the events the service stored, rejections as the invalid events sent, at the requested rate", async () => {
    const acknowledged: SimulatedEvent[] = [];
    const progress: Progress[] = [];
    const summary = await sendStream(
      { url: service.url, rate: 5_000, batchSize: 250, concurrency: 4, durationSeconds: 2, stream: { ...DEFAULT_STREAM, duplicateRate: 0.2, invalidRate: 0.02, seed: 9, firstOid: 5_000_000 } },
      { onAccepted: (events) => acknowledged.push(...events), onProgress: (p) => progress.push(p) }
    );
    expect(summary.sent).toBe(10_000);
    expect(summary.accepted).toBe(acknowledged.length);
    expect(summary.accepted + summary.rejected).toBe(summary.sent);
    expect(summary.rejected).toBe(summary.invalid);
    expect(summary.rejected).toBeGreaterThan(100);
    // Copies fall due 2 s or more after their detection: in a 2 s run they are all still pending.
    expect(summary.pendingCopies).toBeGreaterThan(1_000);
    expect(summary).toMatchObject({ failedRequests: 0, retries: 0, unacknowledged: 0, stoppedBy: "duration" });
    expect(summary.achievedRate).toBeGreaterThan(4_500);
    expect(summary.achievedRate).toBeLessThan(5_500);
    expect(summary.latencyMs.p50).toBeGreaterThan(0);
    expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(summary.latencyMs.p50);
    expect(summary.latencyMs.max).toBeGreaterThanOrEqual(summary.latencyMs.p99);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]!.sent).toBeGreaterThan(3_000);

    // Every acknowledged copy is a row, every row was acknowledged: the same multiset of events.
    const reader = await service.database!.connection.runAndReadAll(
      "select detection_oid::bigint as id, video_camera_oid::bigint as camera, item_name from detections_raw.raw_detection_events where detection_oid between 5000000 and 5999999"
    );
    const stored = reader.getRowObjectsJS().map((r) => `${r.id}:${r.camera}:${r.item_name}`);
    const sent = acknowledged.map((e) => `${e.detection_oid}:${e.video_camera_oid}:${e.item_name}`);
    expect(stored.sort(byOid)).toEqual(sent.sort(byOid));
  });

  it("runs until stopped, with defaults for what it is not told", async () => {
    const acknowledged: SimulatedEvent[] = [];
    const run = simulate({ url: service.url, rate: 2_000, stream: { firstOid: 6_000_000 } }, { onAccepted: (events) => acknowledged.push(...events) });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    run.stop();
    const summary = await run;
    expect(summary.stoppedBy).toBe("signal");
    // The default 500-event batches at 2,000 events/s: due at 0, 0.25, … 1.0 s, so five by 1.2 s.
    expect(summary.sent).toBeGreaterThanOrEqual(2_000);
    expect(summary.sent).toBeLessThanOrEqual(3_000);
    expect(summary.sent % 500).toBe(0);
    expect(summary.accepted + summary.rejected).toBe(summary.sent);
    expect(acknowledged.length).toBe(summary.accepted);
  });
});

/** A loopback server whose answers the test scripts; it records the bodies it acknowledged. */
async function scriptedServer(answer: (req: IncomingMessage, res: ServerResponse, body: string, request: number) => void) {
  let requests = 0;
  const acknowledged: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => answer(req, res, body, requests++));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accept = (res: ServerResponse, body: string) => {
    acknowledged.push(body);
    const count = (JSON.parse(body) as unknown[]).length;
    res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ accepted: count, rejected: 0, errors: [] }));
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    acknowledged,
    accept,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe("sending to a service in trouble", () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const stream = { ...DEFAULT_STREAM, invalidRate: 0, firstOid: 1 };

  it("re-sends a batch refused with 503 after Retry-After until it is acknowledged", async () => {
    const server = await scriptedServer((_req, res, body, request) => {
      if (request < 2) res.writeHead(503, { "retry-after": "1", "content-type": "application/json" }).end('{"error":"at capacity"}');
      else server.accept(res, body);
    });
    servers.push(server);
    const problems: string[] = [];
    const summary = await sendStream({ url: server.url, rate: 100, batchSize: 100, concurrency: 1, durationSeconds: 1, stream }, { onProblem: (m) => problems.push(m) });
    expect(summary).toMatchObject({ retries: 2, failedRequests: 0, accepted: 100, sent: 100, unacknowledged: 0 });
    expect(server.acknowledged).toHaveLength(1);
    expect(server.requests()).toBe(3);
    // Retry-After was honoured: two waits of a second each.
    expect(summary.seconds).toBeGreaterThanOrEqual(2);
    expect(problems).toEqual([expect.stringMatching(/^503 .*at capacity.*retrying/)]);
  });

  it("re-sends a batch whose connection dropped, the same body", async () => {
    const bodies: string[] = [];
    const server = await scriptedServer((req, res, body, request) => {
      bodies.push(body);
      if (request < 2) req.socket.destroy();
      else server.accept(res, body);
    });
    servers.push(server);
    const summary = await sendStream({ url: server.url, rate: 50, batchSize: 50, concurrency: 1, durationSeconds: 1, stream });
    expect(summary).toMatchObject({ retries: 2, failedRequests: 0, accepted: 50 });
    expect(new Set(bodies).size).toBe(1);
  });

  it("stops at once when the service refuses the first requests, and reports it once", async () => {
    const server = await scriptedServer((_req, res) => res.writeHead(401, { "content-type": "application/json" }).end('{"error":"missing or unknown bearer token"}'));
    servers.push(server);
    const problems: string[] = [];
    const summary = await sendStream({ url: server.url, token: "wrong", rate: 1_000, batchSize: 100, concurrency: 4, durationSeconds: 5, stream }, { onProblem: (m) => problems.push(m) });
    expect(summary.stoppedBy).toBe("refused");
    expect(summary.seconds).toBeLessThan(2);
    expect(summary.accepted).toBe(0);
    expect(summary.failedRequests).toBeGreaterThanOrEqual(1);
    expect(summary.unacknowledged).toBe(summary.sent);
    expect(problems).toEqual([expect.stringMatching(/^401 .*bearer token/)]);
  });

  it("keeps the rate by its schedule when each response takes longer than the batch interval", async () => {
    // 20 batches a second, each answered after 300 ms: a sender that waited for each response before
    // the next one would manage about 3 a second.
    const server = await scriptedServer((_req, res, body) => setTimeout(() => server.accept(res, body), 300));
    servers.push(server);
    const summary = await sendStream({ url: server.url, rate: 2_000, batchSize: 100, concurrency: 8, durationSeconds: 2, stream });
    expect(summary.sent).toBe(4_000);
    expect(summary.accepted).toBe(4_000);
    expect(summary.achievedRate).toBeGreaterThan(1_600);
    expect(summary.latencyMs.p50).toBeGreaterThanOrEqual(290);
  });

  it("retries a service it cannot reach until the run is over, then counts the batches as failed", async () => {
    const server = await scriptedServer(() => undefined);
    await server.close();
    const problems: string[] = [];
    const summary = await sendStream(
      { url: server.url, rate: 100, batchSize: 50, concurrency: 1, durationSeconds: 0.5, retryGraceMs: 300, stream },
      { onProblem: (m) => problems.push(m) }
    );
    expect(summary).toMatchObject({ sent: 50, accepted: 0, failedRequests: 1, unacknowledged: 50, stoppedBy: "duration" });
    expect(summary.retries).toBeGreaterThanOrEqual(2);
    expect(summary.seconds).toBeLessThan(2);
    expect(problems).toEqual([expect.stringMatching(/cannot reach .* \(ECONNREFUSED\): retrying/)]);
  });

  it("sends the bearer token it is given", async () => {
    const seen: Array<string | undefined> = [];
    const server = await scriptedServer((req, res, body) => {
      seen.push(req.headers.authorization);
      server.accept(res, body);
    });
    servers.push(server);
    await sendStream({ url: server.url, token: "s3cret", rate: 10, batchSize: 10, concurrency: 1, durationSeconds: 0.1, stream });
    expect(seen).toEqual(["Bearer s3cret"]);
  });
});

describe("the request details", () => {
  it("posts to /v1/detections under the base URL, path prefix kept", () => {
    expect(detectionsEndpoint("http://localhost:8080")).toBe("http://localhost:8080/v1/detections");
    expect(detectionsEndpoint("https://example.test/sightline/")).toBe("https://example.test/sightline/v1/detections");
  });

  it("reads seconds and HTTP dates, and caps long waits", () => {
    const now = Date.UTC(2026, 0, 1, 12);
    expect(retryAfterMs("2", now)).toBe(2_000);
    expect(retryAfterMs(new Date(now + 5_000).toUTCString(), now)).toBe(5_000);
    expect(retryAfterMs("86400", now)).toBe(60_000);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
  });
});
