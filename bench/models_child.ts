// One measured process of the models benchmark (bench/models.ts starts it, so peak RSS is its own).
//   full-refresh DB                     time transformer.run({ fullRefresh: true }) (models and assertions)
//   build DB HOURS MEMORY_LIMIT [CHUNK_HOURS [RAW_HOURS]]
//                                       generate HOURS of history and full-refresh it (setup, timed too);
//                                       with CHUNK_HOURS, chunk by chunk with an incremental run after each;
//                                       with RAW_HOURS, the raw table keeps only its last RAW_HOURS
//   incremental DB REPS                 warm-up + REPS x (append 10 s at 10k/s once they are past, time
//                                       the models-only run), then time the assertions once
// The last stdout line is the JSON result.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { openDatabase } from "../runner/database.ts";
import { executeActions, type ActionResult } from "../runner/execute.ts";
import { actionsInOrder } from "../runner/graph.ts";
import { Transformer, type RunReport } from "../runner/transform.ts";
import { appendStream, appendWhenPast, catchUpStream, generateHistory, RAW_SCHEMA, writeLocations, type AppendResult } from "./generate.ts";

function vmHwmKb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) : NaN;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function summary(report: RunReport) {
  const failed = report.actions.filter((a) => a.status !== "ok");
  if (failed.length) throw new Error(`run failed: ${failed.map((a) => a.error ?? a.name).join("; ")}`);
  return {
    durationMs: report.durationMs,
    checkpointMs: report.checkpointMs,
    compiled: report.compiled,
    actions: report.actions.map((a) => ({ name: a.name, kind: a.kind, mode: a.mode, durationMs: a.durationMs, rowsChanged: a.rowsChanged, rows: a.rows })),
  };
}

const [mode, dbPath, arg1, arg2, arg3, arg4] = process.argv.slice(2);
if (!mode || !dbPath) throw new Error("usage: models_child.ts full-refresh|build|incremental DB ...");

let result: unknown;
if (mode === "build" && arg3) {
  // Chunked build: the history in chunks of arg3 hours, the models brought up to date after each
  // (a full refresh on the first chunk, incremental runs after), as a warehouse fed for a day would be.
  // Memory and spill stay those of one chunk; one full refresh of 864 M rows would need more disk than here.
  // With RAW_HOURS, raw rows published more than RAW_HOURS before each chunk's end are deleted once the
  // models have read them, for disks too small for 24 h of both: raw rows take ~1.3 GB an hour, the
  // warehouse ~1.25 GB and the build's spill ~5 GB (~66 GB in all; the disk here had ~79 GB). An
  // incremental run reads the raw table only from its watermark (a few seconds back, and the open sweep
  // slot of late copies, 5 minutes), so what it reads is the same; the history it is measured against is
  // the warehouse's.
  const hours = Number(arg1);
  const chunkHours = Number(arg3);
  const rawHours = arg4 === undefined ? undefined : Number(arg4);
  const memoryLimit = arg2 ?? "8GB";
  const db = await openDatabase(dbPath, { memoryLimit });
  await writeLocations(db);
  const transformer = new Transformer(db);
  await transformer.graph();
  const chunks: unknown[] = [];
  let rawRows = 0;
  let generateMs = 0;
  for (let done = 0, i = 0; done < hours; done += chunkHours, i++) {
    const span = Math.min(chunkHours, hours - done);
    const appended = await appendStream(db, {
      seconds: span * 3600,
      endBeforeNowSeconds: (hours - done - span) * 3600 + 60,
      settings: { rate: 10_000, seed: 42 },
      log,
    });
    rawRows += Number(appended.batch.rows);
    generateMs += appended.durationMs;
    const report = await transformer.run({ fullRefresh: i === 0, selection: { includeAssertions: false } });
    await db.connection.run("checkpoint");
    if (rawHours !== undefined) {
      // Whole row groups deleted are dropped at the checkpoint, and later chunks reuse their blocks.
      await db.connection.run(
        `delete from ${RAW_SCHEMA}.raw_detection_events where publish_time < epoch_ms(${appended.lastPublish.getTime() - rawHours * 3_600_000})`
      );
      await db.connection.run(`checkpoint ${RAW_SCHEMA}`);
    }
    const run = summary(report);
    log(`chunk ${i + 1}: ${span} h generated in ${(appended.durationMs / 1000).toFixed(1)} s, models ${(run.durationMs / 1000).toFixed(1)} s (${i === 0 ? "full refresh" : "incremental"}), RSS high-water ${(vmHwmKb() / 1024).toFixed(0)} MiB`);
    chunks.push({ hours: span, generateMs: appended.durationMs, run });
  }
  db.close();
  result = { mode, hours, chunkHours, rawHours, rawRows, generateMs, chunks, maxRssKb: process.resourceUsage().maxRSS, vmHwmKb: vmHwmKb() };
} else if (mode === "build") {
  const hours = Number(arg1);
  const generated = await generateHistory(dbPath, { hours, memoryLimit: arg2 ?? "8GB", log });
  log(`generated ${generated.batch.rows} rows in ${(generated.durationMs / 1000).toFixed(1)} s`);
  const db = await openDatabase(dbPath, { memoryLimit: arg2 ?? "8GB" });
  const transformer = new Transformer(db);
  await transformer.graph();
  const report = await transformer.run({ fullRefresh: true, selection: { includeAssertions: false } });
  db.close();
  log(`full refresh in ${(report.durationMs / 1000).toFixed(1)} s`);
  result = { mode, hours, rawRows: Number(generated.batch.rows), generateMs: generated.durationMs, fullRefresh: summary(report), maxRssKb: process.resourceUsage().maxRSS, vmHwmKb: vmHwmKb() };
} else if (mode === "full-refresh") {
  const db = await openDatabase(dbPath);
  const transformer = new Transformer(db);
  const compileStarted = performance.now();
  await transformer.graph();
  const compileMs = performance.now() - compileStarted;
  const report = await transformer.run({ fullRefresh: true });
  db.close();
  result = { mode, compileMs, ...summary(report), maxRssKb: process.resourceUsage().maxRSS, vmHwmKb: vmHwmKb() };
} else if (mode === "incremental") {
  const reps = Number(arg1 ?? 5);
  const db = await openDatabase(dbPath);
  const transformer = new Transformer(db);
  const { graph } = await transformer.graph();
  const models = { selection: { includeAssertions: false } };
  const rawRows = async () => Number((await db.connection.runAndReadAll("select count(*) as n from detections_raw.raw_detection_events")).getRowObjectsJS()[0]!.n);
  // Catch up whatever happened between the history build and now, as a live stream would have (not
  // measured): runs on a stream that stopped a while ago would find the current hour nearly empty.
  const caughtUp = await catchUpStream(db, log);
  const catchUp = summary(await transformer.run(models));
  const runs: { append: { rows: number; ms: number; first: string; last: string }; run: ReturnType<typeof summary> }[] = [];
  let appended: AppendResult = caughtUp;
  for (let rep = 0; rep <= reps; rep++) {
    // The stream arrives in real time: the next 10 s of events, appended once they are in the past.
    appended = await appendWhenPast(db, appended);
    const run = summary(await transformer.run(models));
    const entry = { append: { rows: Number(appended.batch.rows), ms: appended.durationMs, first: appended.firstPublish.toISOString(), last: appended.lastPublish.toISOString() }, run };
    log(`${rep === 0 ? "warm-up" : `rep ${rep}`}: models ${run.durationMs.toFixed(0)} ms (append ${appended.durationMs.toFixed(0)} ms)`);
    if (rep > 0) runs.push(entry);
  }
  // Saved as it goes (next to the database), so the timed runs survive a stopped assertion phase.
  const partialFile = path.join(path.dirname(dbPath), "incremental-partial.json");
  const assertionResults: ActionResult[] = [];
  const savePartial = () =>
    writeFileSync(partialFile, JSON.stringify({ mode, catchUpMs: catchUp.durationMs, runs, assertionsSoFar: assertionResults, vmHwmKb: vmHwmKb() }));
  savePartial();
  const assertionActions = actionsInOrder(graph).filter((a) => a.kind === "assertion");
  const assertionsStarted = performance.now();
  await executeActions(db.connection, assertionActions, {
    onAction: (result) => {
      assertionResults.push(result);
      log(`  assertion ${result.name}: ${result.durationMs.toFixed(0)} ms ${result.status}`);
      savePartial();
    },
  });
  const assertionsMs = performance.now() - assertionsStarted;
  log(`assertions: ${assertionsMs.toFixed(0)} ms, ${assertionResults.filter((a) => a.status !== "ok").length} not ok`);
  result = {
    mode,
    rawRowsAfter: await rawRows(),
    catchUpMs: catchUp.durationMs,
    runs,
    assertions: { durationMs: assertionsMs, actions: assertionResults.map((a) => ({ name: a.name, status: a.status, durationMs: a.durationMs, error: a.error })) },
    maxRssKb: process.resourceUsage().maxRSS,
    vmHwmKb: vmHwmKb(),
  };
  db.close();
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
