// Ingest benchmarks, measured in one run on this machine: (a) the ceiling, HTTP + parse + validate with
// no sink; (b) the durable DuckDB sink; (c) the PostgreSQL peer behind the same HTTP front (COPY, and
// INSERT … ON CONFLICT DO NOTHING); (d) the pubsub sink on the Pub/Sub emulator (events/s per core of
// service CPU); events/s and p50/p99 acknowledgement latency for each, and latency at a fixed
// 100,000 events/s on the DuckDB sink.
// The service runs in a child process; the load comes from this one over loopback keep-alive sockets.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface, type Interface } from "node:readline";
import { PubSub } from "@google-cloud/pubsub";
import pg from "pg";
import { imageNodeFlags } from "../deploy/image_command.ts";
import { EMULATOR_LAUNCHER, startEmulator } from "../stack/pubsub_emulator.ts";
import { POSTGRES_AVAILABLE, startPostgres } from "./postgres_server.ts";
import { createPeerTables } from "./postgres_sink.ts";
import { quantile, spread } from "./stats.ts";

const HERE = import.meta.dirname;
const BATCH = 500;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
/**
 * Requests in flight at once: many cameras posting at the same time. 64 since the DuckDB sink commits on
 * its own thread (session 21), which gains from more requests in flight where the sink on the event loop
 * lost: 224 k events/s at 64 and 238 - 247 k at 32 before, against 266 - 304 k at 16 (BENCHMARKS.md).
 */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
/** Which paths to measure (all by default): ceiling,duckdb,postgres,pubsub. */
const SINKS = new Set((process.env.BENCH_SINKS ?? "ceiling,duckdb,postgres,pubsub").split(","));

interface Server {
  child: ChildProcess;
  url: string;
  lines: Interface;
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(kind: string, dbPath: string, env: Record<string, string> = {}): Promise<Server> {
  // With the Node flags the service is deployed with (the Dockerfile's CMD).
  const child = spawn(process.execPath, [...imageNodeFlags(), path.join(HERE, "ingest_server.ts"), kind, dbPath], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } });
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<Record<string, number | string>>((resolve) => lines.once("line", (line) => resolve(JSON.parse(line))));
  const { url } = (await next()) as { url: string };
  return {
    child,
    url,
    lines,
    async cpuSeconds() {
      child.stdin!.write("cpu\n");
      return Number((await next()).cpuSeconds);
    },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin!.write("stop\n");
      await exited;
    },
  };
}

let nextId = 1;
function body(): Buffer {
  const events = [];
  for (let i = 0; i < BATCH; i++) {
    const id = nextId++;
    events.push({ detection_oid: id, video_camera_oid: 1000 + (id % 97), geographical_location_oid: 1 + (id % 10_000), item_name: `item ${id % 300} with a longer descriptive name`, timestamp_detected: 1_763_000_000_000 + id });
  }
  return Buffer.from(JSON.stringify(events));
}

function post(url: URL, agent: Agent, payload: Buffer, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: "/v1/detections", method: "POST", agent, headers: { "content-type": "application/json", "content-length": payload.length, ...(token ? { authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      }
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Closed loop: `concurrency` requests always in flight for `seconds`. */
async function throughput(server: Server, seconds: number, concurrency: number, token?: string) {
  const url = new URL(server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const bodies = Array.from({ length: 64 }, body);
  let accepted = 0;
  let failed = 0;
  const latencies: number[] = [];
  const cpuBefore = await server.cpuSeconds();
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_v, worker) => {
      let i = worker;
      while (performance.now() < until) {
        const sent = performance.now();
        const status = await post(url, agent, bodies[i++ % bodies.length]!, token);
        if (status === 202) {
          accepted += BATCH;
          latencies.push(performance.now() - sent);
        } else failed++;
      }
    })
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = (await server.cpuSeconds()) - cpuBefore;
  agent.destroy();
  return { eventsPerSecond: accepted / elapsed, eventsPerCpuSecond: accepted / cpu, failedRequests: failed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

/** Open loop: requests start on a fixed schedule whatever the responses do, so queueing shows in latency. */
async function latencyAtRate(server: Server, eventsPerSecond: number, seconds: number) {
  const url = new URL(server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const bodies = Array.from({ length: 64 }, body);
  const interval = (BATCH / eventsPerSecond) * 1000;
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i * interval < seconds * 1000; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(post(url, agent, bodies[i % bodies.length]!).then((status) => {
      if (status === 202) latencies.push(performance.now() - due);
    }));
  }
  await Promise.all(pending);
  agent.destroy();
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), achieved: (latencies.length * BATCH) / seconds };
}

async function repeat<T>(label: string, once: () => Promise<T>): Promise<T[]> {
  await once(); // warm-up
  const results: T[] = [];
  for (let i = 0; i < REPEATS; i++) {
    results.push(await once());
    console.log(`  ${label} run ${i + 1}: ${JSON.stringify(results.at(-1))}`);
  }
  return results;
}

type Run = Awaited<ReturnType<typeof throughput>>;

/** Median, min and max of each figure over the runs. */
function figures(runs: Run[]) {
  return {
    eventsPerSecond: spread(runs.map((r) => r.eventsPerSecond)),
    eventsPerCpuSecond: spread(runs.map((r) => r.eventsPerCpuSecond)),
    p50Ms: spread(runs.map((r) => r.p50)),
    p99Ms: spread(runs.map((r) => r.p99)),
    failedRequests: runs.reduce((sum, r) => sum + r.failedRequests, 0),
  };
}

export async function measureIngest() {
  const dir = await mkdtemp(path.join(tmpdir(), "sightline-bench-ingest-"));
  const results: Record<string, unknown> = { batch: BATCH, concurrency: CONCURRENCY, seconds: SECONDS, runs: REPEATS };
  const measure = async (label: string, server: Server, token?: string) => figures(await repeat(label, () => throughput(server, SECONDS, CONCURRENCY, token)));
  try {
    if (SINKS.has("ceiling")) {
      const ceiling = await startServer("none", path.join(dir, "none.duckdb"));
      results.ceiling = await measure("ceiling", ceiling);
      await ceiling.stop();
    }

    if (SINKS.has("duckdb")) {
      const duck = await startServer("duckdb", path.join(dir, "w.duckdb"));
      results.duckdb = await measure("duckdb", duck);
      const l = await repeat("latency@100k", () => latencyAtRate(duck, 100_000, SECONDS));
      results.latencyAt100k = { p50: spread(l.map((r) => r.p50)), p99: spread(l.map((r) => r.p99)), achieved: spread(l.map((r) => r.achieved)) };
      await duck.stop();
    }

    if (!SINKS.has("postgres")) {
      // not asked for
    } else if (POSTGRES_AVAILABLE) {
      const postgres = await startPostgres();
      results.postgresVersion = postgres.version;
      const client = new pg.Client(postgres.config);
      await client.connect();
      await createPeerTables(client);
      await client.end();
      for (const mode of ["copy", "insert"] as const) {
        // The DuckDB path is unused (the peer sink replaces the service's own); the configuration wants one.
        const peer = await startServer(`postgres-${mode}`, path.join(dir, "unused.duckdb"), { PG_PORT: String(postgres.config.port) });
        results[`postgres_${mode}`] = await measure(`postgres ${mode}`, peer);
        await peer.stop();
      }
      await postgres.stop();
    } else {
      results.postgres = "skipped: PostgreSQL 15 is not installed (apt-get install -y postgresql-15)";
    }

    if (!SINKS.has("pubsub")) {
      // not asked for
    } else if (EMULATOR_LAUNCHER) {
      const emulator = await startEmulator();
      const admin = new PubSub({ projectId: "sightline-bench", apiEndpoint: emulator.host });
      process.env.PUBSUB_EMULATOR_HOST = emulator.host;
      await admin.createTopic("raw-detections");
      await admin.createTopic("ingest-dead-letters");
      const pubsub = await startServer("pubsub", "", { PUBSUB_EMULATOR_HOST: emulator.host, METADATA_SERVER_DETECTION: "none" });
      results.pubsub = await measure("pubsub", pubsub, "bench");
      await pubsub.stop();
      await admin.close();
      await emulator.stop();
    } else {
      results.pubsub = "skipped: the Pub/Sub emulator is not installed";
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

export async function main(_args: string[]): Promise<void> {
  const results = { startedAt: new Date().toISOString(), ...(await measureIngest()), finishedAt: new Date().toISOString() };
  mkdirSync("bench-data", { recursive: true });
  writeFileSync(path.join("bench-data", "ingest-results.json"), JSON.stringify(results, null, 2));
  console.log(JSON.stringify(results, null, 2));
}
