// Fuzzing the ingest service: 10,000 random and mutated bodies (fast-check) against `sightline serve`
// in its own process. No 5xx, no crash, no unbounded memory: every body gets one of the documented
// statuses, and the service still answers and stores a valid batch afterwards.
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rssMiB, startServe, type ServeProcess } from "../support/processes.ts";
import { bodies, valid } from "./fuzz_bodies.ts";

const BODIES = 10_000;
const CONCURRENCY = 8;

let dir: string;
let service: ServeProcess;
let url: string;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-fuzz-"));
  service = await startServe(path.join(dir, "w.duckdb"));
  url = service.url;
});
afterAll(async () => {
  agent.destroy();
  await service?.stop();
  await rm(dir, { recursive: true, force: true });
});

function post(body: Buffer, contentType: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/detections`, { method: "POST", agent, headers: { "content-type": contentType, "content-length": body.length } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("fuzzing POST /v1/detections", () => {
  it(`answers ${BODIES.toLocaleString("en")} random and mutated bodies without a 5xx, a crash or growing memory`, async () => {
    const samples = fc.sample(bodies, { numRuns: BODIES, seed: 20261124 });
    const statuses = new Map<number, number>();
    let rssAfterWarmup = 0;
    let next = 0;
    const worker = async () => {
      while (next < samples.length) {
        const index = next++;
        const [body, contentType] = samples[index]!;
        const status = await post(body, contentType);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 500) throw new Error(`status ${status} for body ${JSON.stringify(body.toString("latin1").slice(0, 200))}`);
        if (index === 2_000) rssAfterWarmup = rssMiB(service.child.pid!);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const rssAtEnd = rssMiB(service.child.pid!);

    expect([...statuses.keys()].every((s) => [202, 400, 413, 415].includes(s))).toBe(true);
    expect(statuses.get(202)).toBeGreaterThan(1_000);
    expect(statuses.get(400)).toBeGreaterThan(1_000);
    expect(service.child.exitCode).toBeNull();
    // Memory after 8,000 more bodies: DuckDB's caches settle, nothing grows per request.
    expect(rssAtEnd - rssAfterWarmup).toBeLessThan(64);
    const health = await fetch(`${url}/ready`);
    expect(health.status).toBe(200);
    expect(await post(Buffer.from(JSON.stringify([valid(7)])), "application/json")).toBe(202);
    console.log(`fuzz: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(", ")}; RSS ${rssAfterWarmup.toFixed(0)} → ${rssAtEnd.toFixed(0)} MiB`);
  });
});
