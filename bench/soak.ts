// Soak: the ingest service (`sightline serve`, DuckDB sink) under the camera simulator at a steady rate
// for a long time, RSS sampled from /proc every 10 s. RSS must stay flat: growth from the first window
// after the warm-up to the last window under 10 %, by the windows' medians and by their maxima. A window
// (5 minutes) spans at least one cycle of the sink's reopening (every 2 M rows: 200 s at 10,000
// events/s), whose RSS rises and falls with it, so the phase of that cycle decides nothing. Outside the
// test run (it takes 35 minutes); results go to RELIABILITY.md.
// Options (env): SOAK_SECONDS=1800 SOAK_RATE=10000 SOAK_WARMUP=300 SOAK_WINDOW=300, and the service's
// own variables (DUCKDB_REOPEN_EVERY_ROWS, DUCKDB_MEMORY_LIMIT) pass through. The service's request log
// goes to bench-data/soak-service.log.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CLI, rssMiB, startServe } from "../test/support/processes.ts";
import { median } from "./stats.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 1800);
const RATE = Number(process.env.SOAK_RATE ?? 10_000);
const WARMUP = Number(process.env.SOAK_WARMUP ?? 300);
const WINDOW = Number(process.env.SOAK_WINDOW ?? 300);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "sightline-soak-"));
  // The service's request log (each refused request, and why when the sink refused it) is kept next to
  // the results: 20 lines a second at 10,000 events/s.
  const logFile = path.resolve("bench-data", "soak-service.log");
  await mkdir(path.dirname(logFile), { recursive: true });
  await writeFile(logFile, "");
  const service = await startServe(path.join(dir, "soak.duckdb"), { env: { LOG_LEVEL: "info" }, logFile });
  const url = service.url;
  try {
    const started = Date.now();
    const simulator = spawn(process.execPath, [CLI, "simulate", "--url", url, "--rate", String(RATE), "--duration", String(WARMUP + SECONDS)], { stdio: ["ignore", "pipe", "pipe"] });
    // Listen from the start: the simulator may finish before the sampling loop does.
    const simulatorExited = new Promise((resolve) => simulator.once("exit", resolve));
    let summary = "";
    simulator.stdout!.on("data", (chunk) => (summary += chunk));
    // The simulator's progress every 5 s, timestamped, so a rate that falls off shows when it did.
    let progress = "";
    simulator.stderr!.on("data", (chunk) => {
      progress += chunk;
      const lines = progress.split("\n");
      progress = lines.pop()!;
      for (const line of lines) console.log(`${Math.round((Date.now() - started) / 1000)} s ${line}`);
    });
    const samples: Array<{ at: number; rss: number }> = [];
    while (Date.now() - started < (WARMUP + SECONDS) * 1000) {
      await sleep(10_000);
      samples.push({ at: Math.round((Date.now() - started) / 1000), rss: rssMiB(service.child.pid!) });
      // One line per sample as it is taken, so a run cut short still leaves its figures.
      console.log(`sample ${JSON.stringify(samples.at(-1))}`);
    }
    await simulatorExited;
    const measured = samples.filter((s) => s.at >= WARMUP);
    const end = measured.at(-1)!.at;
    const firstWindow = measured.filter((s) => s.at < WARMUP + WINDOW).map((s) => s.rss);
    const lastWindow = measured.filter((s) => s.at > end - WINDOW).map((s) => s.rss);
    const growth = (from: number, to: number) => ((to - from) / from) * 100;
    const rss = {
      first: { median: median(firstWindow), max: Math.max(...firstWindow) },
      last: { median: median(lastWindow), max: Math.max(...lastWindow) },
      max: Math.max(...measured.map((s) => s.rss)),
    };
    const growthPercent = { median: growth(rss.first.median, rss.last.median), max: growth(rss.first.max, rss.last.max) };
    console.log(JSON.stringify({ rate: RATE, seconds: SECONDS, warmup: WARMUP, window: WINDOW, rssMiB: rss, growthPercent, samples, simulator: summary.trim().split("\n") }, null, 2));
    const f = (n: number) => n.toFixed(0);
    console.log(
      `| ${RATE.toLocaleString("en")} | ${SECONDS / 60} min | ${f(rss.first.median)} / ${f(rss.first.max)} | ${f(rss.last.median)} / ${f(rss.last.max)} | ${f(rss.max)} | ${growthPercent.median.toFixed(1)} % / ${growthPercent.max.toFixed(1)} % |`
    );
  } finally {
    await service.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

