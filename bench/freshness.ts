// End-to-end freshness of the local stack: event sent → visible in the dashboard's data, at a sustained
// simulated load. `sightline up --no-simulate` runs as a user runs it (models every 5 s); the camera
// simulator runs as its own process (`sightline simulate`) on locations 1..9000; this process sends a
// probe detection every second to one of the locations 9001..10000 (each used once per 1,000 s) and
// polls the dashboard's API for it: `/api/realtime` (the real-time panel, detection_events_enriched)
// and `/api/top-items` (the scheduled models: detection_events → … → top_items_by_location).
// Also samples the stack's CPU and RSS from /proc.
// Options (env): BENCH_RATES=10000,50000 BENCH_RUNS=5 BENCH_SECONDS=300 BENCH_WARMUP=20 BENCH_EVERY=5.
// Each rate runs BENCH_RUNS times on a fresh stack; figures are the median (min – max) over the runs.
// Results: bench-data/freshness-results.json.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../stack/pubsub_emulator.ts";
import { CLI, cpuSeconds, rssMiB } from "../test/support/processes.ts";
import { quantile, spread } from "./stats.ts";

const RATES = (process.env.BENCH_RATES ?? "10000,50000").split(",").map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 300);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP ?? 20);
/** Seconds between model runs (`sightline up --every`; 5 by default). */
const EVERY = process.env.BENCH_EVERY ?? "5";
const PROBE_EVERY_MS = 1000;
const POLL_EVERY_MS = 100;
const PROBE_LOCATIONS = { first: 9001, count: 1000 };

interface Probe {
  index: number;
  location: number;
  sentAt: number;
  realtimeAt?: number;
  modelsAt?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function spawnCli(args: string[], log: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk) => log.push(...String(chunk).split("\n").filter(Boolean)));
  child.stderr!.on("data", (chunk) => log.push(...String(chunk).split("\n").filter(Boolean)));
  return { child, exited: new Promise((resolve) => child.once("exit", resolve)) };
}

async function measure(rate: number) {
  const dir = await mkdtemp(path.join(tmpdir(), "sightline-freshness-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const stackLog: string[] = [];
  const stack = spawnCli(["up", "--no-simulate", "--db", path.join(dir, "sightline.duckdb"), "--port", String(port), "--every", EVERY], stackLog);
  try {
    for (let i = 0; i < 600 && !stackLog.some((l) => /dashboard\s+http/.test(l)); i++) await sleep(100);
    const simulatorLog: string[] = [];
    const simulator = spawnCli(["simulate", "--url", url, "--rate", String(rate), "--locations", "9000", "--duration", String(SECONDS + WARMUP_SECONDS + 15)], simulatorLog);
    await sleep(WARMUP_SECONDS * 1000);

    const probes: Probe[] = [];
    const startedAt = Date.now();
    const cpuBefore = cpuSeconds(stack.child.pid!);
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMiB(stack.child.pid!)), 1000);
    let sending = true;
    const firstOid = 8_000_000_000_000_000 + Math.floor(Math.random() * 1e9) * 1000;

    const sender = (async () => {
      for (let index = 0; sending; index++) {
        const location = PROBE_LOCATIONS.first + (index % PROBE_LOCATIONS.count);
        const sentAt = Date.now();
        const event = { detection_oid: firstOid + index, video_camera_oid: location * 10, geographical_location_oid: location, item_name: "probe", timestamp_detected: sentAt };
        const response = await fetch(`${url}/v1/detections`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([event]) });
        if (response.status === 202) probes.push({ index, location, sentAt });
        await response.arrayBuffer();
        await sleep(Math.max(0, sentAt + PROBE_EVERY_MS - Date.now()));
      }
    })();

    const poller = (async () => {
      while (sending || probes.some((p) => p.modelsAt === undefined && Date.now() - p.sentAt < 60_000)) {
        for (const probe of probes) {
          if (probe.realtimeAt === undefined) {
            const live = (await (await fetch(`${url}/api/realtime?location=${probe.location}`)).json()) as { detections: number };
            if (live.detections >= 1) probe.realtimeAt = Date.now();
          }
          if (probe.modelsAt === undefined && Date.now() - probe.sentAt < 60_000) {
            const top = (await (await fetch(`${url}/api/top-items?location=${probe.location}`)).json()) as { items: Array<{ item: string; count: number }> };
            if (top.items.some((i) => i.item === "probe")) probe.modelsAt = Date.now();
          }
        }
        await sleep(POLL_EVERY_MS);
      }
    })();

    await sleep(SECONDS * 1000);
    const cpuAfter = cpuSeconds(stack.child.pid!);
    sending = false;
    await sender;
    await poller;
    clearInterval(sampler);
    simulator.child.kill("SIGINT");
    await simulator.exited;

    const realtime = probes.filter((p) => p.realtimeAt !== undefined).map((p) => (p.realtimeAt! - p.sentAt) / 1000);
    const models = probes.filter((p) => p.modelsAt !== undefined).map((p) => (p.modelsAt! - p.sentAt) / 1000);
    const runs = stackLog.map((l) => /models ok\s+(\d+) ms/.exec(l)).filter((m) => m !== null).map((m) => Number(m![1]));
    const measuredRuns = runs.slice(Math.floor(runs.length * (WARMUP_SECONDS / (WARMUP_SECONDS + SECONDS))));
    const simulated = simulatorLog.filter((l) => l.startsWith("simulated") || l.startsWith("  "));
    return {
      rate,
      seconds: (Date.now() - startedAt) / 1000,
      probes: probes.length,
      realtime: { p50: quantile(realtime, 0.5), p95: quantile(realtime, 0.95), max: Math.max(...realtime), seen: realtime.length },
      models: { p50: quantile(models, 0.5), p95: quantile(models, 0.95), max: Math.max(...models), seen: models.length },
      modelRunMs: { p50: quantile(measuredRuns, 0.5), p95: quantile(measuredRuns, 0.95), max: Math.max(...measuredRuns), runs: measuredRuns.length },
      stackCpuCores: (cpuAfter - cpuBefore) / SECONDS,
      stackRssMiB: { p50: quantile(rss, 0.5), max: Math.max(...rss), first: rss[0], last: rss.at(-1) },
      simulator: simulated,
      failedRuns: stackLog.filter((l) => /models FAIL/.test(l)).length,
    };
  } finally {
    stack.child.kill("SIGINT");
    await stack.exited;
    await rm(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const results: Record<string, unknown> = { startedAt: new Date().toISOString(), seconds: SECONDS, warmup: WARMUP_SECONDS, every: EVERY, rates: {} };
  const save = () => {
    mkdirSync("bench-data", { recursive: true });
    writeFileSync(path.join("bench-data", "freshness-results.json"), JSON.stringify(results, null, 2));
  };
  for (const rate of RATES) {
    const runs: Awaited<ReturnType<typeof measure>>[] = [];
    for (let run = 1; run <= RUNS; run++) {
      console.log(`freshness at ${rate.toLocaleString("en")} events/s for ${SECONDS} s (after ${WARMUP_SECONDS} s of warm-up), models every ${EVERY} s, run ${run} of ${RUNS}…`);
      runs.push(await measure(rate));
      const r = runs.at(-1)!;
      console.log(`  real-time p50/p95/max ${r.realtime.p50.toFixed(2)} / ${r.realtime.p95.toFixed(2)} / ${r.realtime.max.toFixed(2)} s; models ${r.models.p50.toFixed(2)} / ${r.models.p95.toFixed(2)} / ${r.models.max.toFixed(2)} s; ${r.stackCpuCores.toFixed(2)} cores, RSS ${Math.round(r.stackRssMiB.p50)} / ${Math.round(r.stackRssMiB.max)} MiB`);
      (results.rates as Record<string, unknown>)[String(rate)] = {
        runs,
        realtime: { p50: spread(runs.map((x) => x.realtime.p50)), p95: spread(runs.map((x) => x.realtime.p95)), max: spread(runs.map((x) => x.realtime.max)) },
        models: { p50: spread(runs.map((x) => x.models.p50)), p95: spread(runs.map((x) => x.models.p95)), max: spread(runs.map((x) => x.models.max)) },
        stackCpuCores: spread(runs.map((x) => x.stackCpuCores)),
        stackRssMiB: { median: spread(runs.map((x) => x.stackRssMiB.p50)), max: spread(runs.map((x) => x.stackRssMiB.max)) },
      };
      save();
    }
  }
  results.finishedAt = new Date().toISOString();
  save();
}
