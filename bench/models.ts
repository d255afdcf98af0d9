// Benchmarks of the Dataform models on the local DuckDB warehouse (results in BENCHMARKS.md).
//
//   npm run bench -- models [--full-reps 3] [--history-hours 1,2,4] [--reps 5] [--dir bench-data]
//                           [--skip-full] [--skip-incremental] [--build-memory 12GB] [--build-chunk-hours 4] [--keep]
//
// 1. Full refresh: one history of 1 h at 10,000 rows/s (36 M raw rows, ~5 % copies); each repetition
//    is a fresh child process running transformer.run({ fullRefresh: true }), so its peak RSS is its own.
// 2. Incremental: for each history size, a database with that history, built by a full refresh (setup;
//    histories longer than --build-chunk-hours are built chunk by chunk, an incremental run after each),
//    then a warm-up and REPS x (append 10 s at 10,000/s = 100,000 raw rows, run the models only).
//    Assertions are timed once per size, separately.
// Raw JSON goes to DIR/models-results.json; a summary in Markdown to stdout.
import { spawn } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { median } from "./stats.ts";

interface ActionTiming { name: string; durationMs: number; rowsChanged?: number; rows?: number; mode?: string }
interface RunSummary { durationMs: number; actions: ActionTiming[] }

const CHILD = path.join(import.meta.dirname, "models_child.ts");

/** Runs bench/models_child.ts with these arguments; resolves with the JSON of its last stdout line. */
export function runChild(args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`child ${args.join(" ")} exited with ${code}`));
      const last = out.trim().split("\n").pop() ?? "";
      try {
        resolve({ ...JSON.parse(last), pid: child.pid });
      } catch (error) {
        reject(new Error(`child ${args.join(" ")} printed no JSON: ${(error as Error).message}`));
      }
    });
  });
}

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
/** "median (min – max)" as Markdown text (stats.ts's spread() gives the numbers). */
const spreadText = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))} – ${fmt(Math.max(...xs))})`;

function perActionTable(runs: RunSummary[]): string {
  const names = runs[0]!.actions.map((a) => a.name);
  const lines = ["| action | mode | median (min – max) | rows changed (median) |", "|---|---|---|---|"];
  for (const name of names) {
    const found = runs.map((r) => r.actions.find((a) => a.name === name)!);
    const changed = found.map((a) => a.rowsChanged).filter((x): x is number => typeof x === "number");
    lines.push(`| ${name} | ${found[0]!.mode ?? ""} | ${spreadText(found.map((a) => a.durationMs))} | ${changed.length ? Math.round(median(changed)).toLocaleString("en-US") : ""} |`);
  }
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "full-reps": { type: "string", default: "3" },
      "history-hours": { type: "string", default: "1,2,4" },
      reps: { type: "string", default: "5" },
      dir: { type: "string", default: "bench-data" },
      "skip-full": { type: "boolean", default: false },
      "skip-incremental": { type: "boolean", default: false },
      "build-memory": { type: "string", default: "12GB" },
      // Histories longer than this are built in chunks of this many hours (see models_child.ts build).
      "build-chunk-hours": { type: "string", default: "4" },
      keep: { type: "boolean", default: false },
    },
  });
  const dir = path.resolve(values.dir!);
  const resultsFile = path.join(dir, "models-results.json");
  const results: Record<string, unknown> = { startedAt: new Date().toISOString() };
  const save = () => writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  const dbFor = (hours: number) => path.join(dir, `models-${hours}h`, "sightline.duckdb");
  const fresh = (db: string) => rmSync(path.dirname(db), { recursive: true, force: true });

  const hoursList = values["history-hours"]!.split(",").map(Number);
  const built = new Set<number>();
  const build = async (hours: number) => {
    const db = dbFor(hours);
    fresh(db);
    console.error(`building ${hours} h of history at ${db}`);
    const chunk = Number(values["build-chunk-hours"]);
    const result = await runChild(["build", db, String(hours), values["build-memory"]!, ...(hours > chunk ? [String(chunk)] : [])]);
    (results.builds ??= {} as Record<string, unknown>) && ((results.builds as Record<string, unknown>)[`${hours}h`] = result);
    built.add(hours);
    save();
    return db;
  };

  if (!values["skip-full"]) {
    const db = await build(1);
    const reps: any[] = [];
    for (let rep = 1; rep <= Number(values["full-reps"]); rep++) {
      const result = await runChild(["full-refresh", db]);
      console.error(`full refresh ${rep}: ${fmt(result.durationMs)}, peak RSS ${(result.vmHwmKb / 1024).toFixed(0)} MiB`);
      reps.push(result);
      results.fullRefresh = reps;
      save();
    }
    const models = reps.map((r) => r.actions.filter((a: any) => a.kind !== "assertion").reduce((s: number, a: any) => s + a.durationMs, 0));
    const assertions = reps.map((r) => r.actions.filter((a: any) => a.kind === "assertion").reduce((s: number, a: any) => s + a.durationMs, 0));
    console.log(`\n## Full refresh, 36 M raw rows (${reps.length} fresh processes)\n`);
    console.log(`| measure | median (min – max) |\n|---|---|`);
    console.log(`| whole run (models + assertions) | ${spreadText(reps.map((r) => r.durationMs))} |`);
    console.log(`| models only | ${spreadText(models)} |`);
    console.log(`| assertions only | ${spreadText(assertions)} |`);
    console.log(`| peak RSS (VmHWM) | ${(median(reps.map((r) => r.vmHwmKb)) / 1024).toFixed(0)} MiB (${(Math.min(...reps.map((r) => r.vmHwmKb)) / 1024).toFixed(0)} – ${(Math.max(...reps.map((r) => r.vmHwmKb)) / 1024).toFixed(0)}) |`);
    console.log(`| compile (Dataform CLI, before the timed run) | ${spreadText(reps.map((r) => r.compileMs))} |\n`);
    console.log(perActionTable(reps));
  }

  if (!values["skip-incremental"]) {
    const rows: string[] = [];
    for (const hours of hoursList) {
      const db = built.has(hours) && existsSync(dbFor(hours)) ? dbFor(hours) : await build(hours);
      const result = await runChild(["incremental", db, values.reps!]);
      (results.incremental ??= {} as Record<string, unknown>) && ((results.incremental as Record<string, unknown>)[`${hours}h`] = result);
      save();
      const runs: RunSummary[] = result.runs.map((r: any) => r.run);
      console.log(`\n## Incremental run, 100,000 new raw rows over ${hours} h of history (${result.rawRowsAfter.toLocaleString("en-US")} raw rows at the end)\n`);
      console.log(`models only: ${spreadText(runs.map((r) => r.durationMs))} over ${runs.length} runs; assertions once: ${fmt(result.assertions.durationMs)}; peak RSS ${(result.vmHwmKb / 1024).toFixed(0)} MiB\n`);
      console.log(perActionTable(runs));
      rows.push(`| ${hours} h | ${(hours * 36).toLocaleString("en-US")} M | ${spreadText(runs.map((r) => r.durationMs))} | ${fmt(result.assertions.durationMs)} |`);
      if (!values.keep) fresh(db);
    }
    console.log(`\n## Incremental run vs history\n\n| history | raw rows | models only, median (min – max) | assertions (once) |\n|---|---|---|---|\n${rows.join("\n")}`);
  }
  results.finishedAt = new Date().toISOString();
  save();
}
