// `sightline up` as a user runs it: a real process on a temporary database. Stream events, stop it,
// start it again on the same file, stream more (including copies of the first run's detections):
// every acknowledged detection is in detection_events exactly once, and nothing else is.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../runner/database.ts";
import { DEFAULT_STREAM, type SimulatedEvent } from "../../simulate/events.ts";
import { sendStream } from "../../simulate/sender.ts";
import { EMULATOR_LAUNCHER, freePort } from "../../stack/pubsub_emulator.ts";
import { LOCAL_TOKEN } from "../../stack/up.ts";

const CLI = path.join(import.meta.dirname, "..", "..", "cli", "sightline.ts");

interface RunningStack {
  url: string;
  output: () => string;
  stop(): Promise<number | null>;
}

async function startUp(dbPath: string, port: number, extra: string[] = []): Promise<RunningStack> {
  const child: ChildProcess = spawn(process.execPath, [CLI, "up", "--db", dbPath, "--port", String(port), "--no-simulate", "--every", "1", "--memory-limit", "1GB", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await expect.poll(() => output, { timeout: 60_000 }).toMatch(/dashboard\s+http/);
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      child.kill("SIGINT");
      return exited;
    },
  };
}

/** Waits for a successful model run that started after `after` (epoch ms), via the dashboard's API. */
async function modelRunAfter(url: string, after: number): Promise<void> {
  await expect
    .poll(
      async () => {
        const overview = (await (await fetch(`${url}/api/overview`)).json()) as { lastRun: { startedAt: number; ok: boolean } | null };
        return overview.lastRun !== null && overview.lastRun.ok && overview.lastRun.startedAt > after;
      },
      { timeout: 60_000, interval: 250 }
    )
    .toBe(true);
}

describe("sightline up, stopped and started again", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sightline-up-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("counts every acknowledged detection once across the restart", async () => {
    const dbPath = path.join(dir, "sightline.duckdb");
    const acknowledged: SimulatedEvent[] = [];
    const stream = { ...DEFAULT_STREAM, duplicateRate: 0.2, unknownRate: 0.05, invalidRate: 0.02, seed: 5 };

    const first = await startUp(dbPath, await freePort());
    const firstRun = await sendStream({ url: first.url, rate: 4_000, batchSize: 200, concurrency: 4, durationSeconds: 3, stream: { ...stream, firstOid: 1_000_000 } }, { onAccepted: (e) => acknowledged.push(...e) });
    expect(firstRun.failedRequests).toBe(0);
    expect(firstRun.accepted).toBeGreaterThan(10_000);
    expect(await first.stop()).toBe(0);
    expect(first.output()).toContain("stopped");
    // No auth on the local stack, so it listens on loopback unless told otherwise.
    expect(first.output()).toMatch(/dashboard\s+http:\/\/127\.0\.0\.1:\d+\//);

    const second = await startUp(dbPath, await freePort());
    expect(second.output()).not.toContain("Dataset B: generated");
    // The first run's detections sent again (late copies across the restart), then new ones.
    const replayed = acknowledged.slice(0, 2_000);
    const body = JSON.stringify(replayed);
    const replay = await fetch(`${second.url}/v1/detections`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(replay.status).toBe(202);
    acknowledged.push(...replayed);
    const secondRun = await sendStream({ url: second.url, rate: 4_000, batchSize: 200, concurrency: 4, durationSeconds: 2, stream: { ...stream, seed: 6, firstOid: 2_000_000 } }, { onAccepted: (e) => acknowledged.push(...e) });
    expect(secondRun.failedRequests).toBe(0);
    await modelRunAfter(second.url, Date.now());
    expect(await second.stop()).toBe(0);

    const db = await openDatabase(dbPath, { memoryLimit: "1GB" });
    try {
      const reader = await db.connection.runAndReadAll("select detection_oid::bigint as id, count(*) over (partition by detection_oid)::integer as times from detections.detection_events");
      const rows = reader.getRowObjectsJS();
      expect(rows.filter((r) => r.times !== 1)).toEqual([]);
      const stored = new Set(rows.map((r) => Number(r.id)));
      const expected = new Set(acknowledged.map((e) => e.detection_oid));
      expect(stored.size).toBe(expected.size);
      for (const id of expected) expect(stored.has(id)).toBe(true);
      // Copies were delivered: the raw table holds more rows than there are detections.
      const raw = await db.connection.runAndReadAll("select count(*)::integer as n from detections_raw.raw_detection_events");
      expect(raw.getRowObjectsJS()[0]!.n).toBe(acknowledged.length);
      expect(acknowledged.length).toBeGreaterThan(expected.size);
    } finally {
      db.close();
    }
  });
});

describe.skipIf(!EMULATOR_LAUNCHER)("sightline up --pubsub-emulator", () => {
  it("carries every acknowledged detection through Pub/Sub and the subscription writer, once", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sightline-up-emulator-"));
    try {
      const dbPath = path.join(dir, "sightline.duckdb");
      const stack = await startUp(dbPath, await freePort(), ["--pubsub-emulator"]);
      expect(stack.output()).toMatch(/Pub\/Sub emulator at 127\.0\.0\.1:\d+/);
      const acknowledged: SimulatedEvent[] = [];
      const run = await sendStream(
        { url: stack.url, token: LOCAL_TOKEN, rate: 2_000, batchSize: 200, concurrency: 4, durationSeconds: 2, stream: { ...DEFAULT_STREAM, duplicateRate: 0.2, seed: 8, firstOid: 3_000_000 } },
        { onAccepted: (e) => acknowledged.push(...e) }
      );
      expect(run.failedRequests).toBe(0);
      // The subscription writer commits within ~50 ms of delivery; the next run picks everything up.
      await modelRunAfter(stack.url, Date.now() + 1_000);
      expect(await stack.stop()).toBe(0);

      const db = await openDatabase(dbPath, { memoryLimit: "1GB" });
      try {
        const events = await db.connection.runAndReadAll("select detection_oid::bigint as id from detections.detection_events");
        const ids = events.getRowObjectsJS().map((r) => Number(r.id));
        expect(ids.length).toBe(new Set(ids).size);
        expect(new Set(ids)).toEqual(new Set(acknowledged.map((e) => e.detection_oid)));
        const raw = await db.connection.runAndReadAll("select count(*)::integer as n, any_value(subscription_name) as subscription from detections_raw.raw_detection_events");
        const [row] = raw.getRowObjectsJS();
        expect(row!.n).toBeGreaterThanOrEqual(acknowledged.length);
        expect(row!.subscription).toBe("projects/sightline-local/subscriptions/raw-detections-bigquery");
      } finally {
        db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
