// The simulator's sender against a real ingest service on a loopback port (DuckDB sink on a temporary
// file), and against a server that sheds load: acknowledged events are exactly the stored ones, and
// batches refused with 503 are re-sent, not dropped.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../../ingest/service.ts";
import { DEFAULT_STREAM, type SimulatedEvent } from "../../simulate/events.ts";
import { sendStream } from "../../simulate/sender.ts";
import { startLocalService, type LocalService } from "../support/local_service.ts";

let local: LocalService;
let service: Service;
beforeAll(async () => {
  local = await startLocalService();
  service = local.service;
});
afterAll(async () => {
  await local.stop();
});

describe("sending the simulated stream", () => {
  it("reports exactly the events the service stored, at the requested rate", async () => {
    const acknowledged: SimulatedEvent[] = [];
    const summary = await sendStream(
      { url: service.url, rate: 5_000, batchSize: 250, concurrency: 4, durationSeconds: 2, stream: { ...DEFAULT_STREAM, invalidRate: 0.02, seed: 9, firstOid: 5_000_000 } },
      { onAccepted: (events) => acknowledged.push(...events) }
    );
    expect(summary.sent).toBe(10_000);
    expect(summary.accepted).toBe(acknowledged.length);
    expect(summary.rejected).toBe(summary.invalid);
    expect(summary.rejected).toBeGreaterThan(0);
    expect(summary.failedRequests).toBe(0);
    expect(summary.achievedRate).toBeGreaterThan(4_000);
    expect(summary.achievedRate).toBeLessThan(6_000);

    const rows = await service.query(
      "select detection_oid::bigint as id, item_name from detections_raw.raw_detection_events where detection_oid >= 5000000 order by detection_oid, item_name"
    );
    const stored = rows.map((r) => `${r.id}:${r.item_name}`);
    const sent = acknowledged.map((e) => `${e.detection_oid}:${e.item_name}`).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    expect(stored.sort((a, b) => a.localeCompare(b, "en", { numeric: true }))).toEqual(sent);
  });

  describe("against a service that sheds load", () => {
    let server: Server;
    let url: string;
    const received: string[] = [];
    let refusals = 2;
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (chunk) => (body += chunk));
        req.on("end", () => {
          if (refusals-- > 0) {
            res.writeHead(503, { "retry-after": "1", "content-type": "application/json" }).end('{"error":"at capacity"}');
            return;
          }
          received.push(body);
          const count = (JSON.parse(body) as unknown[]).length;
          res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ accepted: count, rejected: 0, errors: [] }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("re-sends a refused batch after Retry-After until it is acknowledged", async () => {
      const summary = await sendStream({ url, rate: 100, batchSize: 100, concurrency: 1, durationSeconds: 0.5, stream: { ...DEFAULT_STREAM, invalidRate: 0, firstOid: 1 } });
      expect(summary.retries).toBe(2);
      expect(summary.failedRequests).toBe(0);
      expect(received).toHaveLength(1);
      expect(summary.accepted).toBe(100);
      expect(summary.seconds).toBeGreaterThanOrEqual(2);
    });
  });
});
