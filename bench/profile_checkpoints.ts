// What DuckDB's checkpoints cost the ingest sink, which commits small groups to the raw table and so
// leaves every row to be compressed by a checkpoint later (a commit that crosses checkpoint_threshold
// runs it, and other commits wait). Appends groups of STEP rows shaped like the service's events to a
// fresh raw table and times an explicit CHECKPOINT after each, marking the ones that completed a row
// group (RAW_ROW_GROUP_SIZE rows); then the same per column, to show which columns the time goes to.
//   node bench/profile_checkpoints.ts [STEP] [GROUPS]        defaults 40000 and 30
import { rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { datasetFile, DEFAULT_RAW_DATASET, openDatabase, RAW_ROW_GROUP_SIZE } from "../runner/database.ts";
import { ensureRawTables } from "../runner/raw_tables.ts";
import { median } from "./stats.ts";

const step = Number(process.argv[2] ?? 40_000);
const groups = Number(process.argv[3] ?? 30);
const ROW_GROUP = RAW_ROW_GROUP_SIZE;
const file = path.join(tmpdir(), `sightline-profile-checkpoints-${process.pid}.duckdb`);
const removeFiles = () => {
  for (const f of [file, datasetFile(file, DEFAULT_RAW_DATASET)]) for (const suffix of ["", ".wal"]) rmSync(f + suffix, { force: true });
};

// The service's rows: a constant subscription name, a unique message id, ids, an item name like the
// ingest benchmark's, epoch-millisecond detection times.
const COLUMNS: Record<string, string> = {
  subscription_name: "'sightline-local'",
  message_id: "'3f9a1c22b7e0-' || i",
  publish_time: "timestamp '2026-12-01 00:00:00' + to_microseconds(i)",
  attributes: "null::json",
  detection_oid: "i",
  video_camera_oid: "1000 + i % 97",
  geographical_location_oid: "1 + i % 10000",
  item_name: "'item ' || (i % 300) || ' with a longer descriptive name'",
  timestamp_detected: "1763000000000 + i",
};

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

async function profile(table: string, columns: string[]): Promise<{ crossing: number[]; within: number[]; bytes: number }> {
  removeFiles();
  const db = await openDatabase(file, { memoryLimit: "256MB" });
  const c = db.connection;
  // Only the explicit CHECKPOINT below runs one.
  await c.run("set checkpoint_threshold = '100GB'");
  // Both in the raw dataset's own file, with its row group size (runner/database.ts).
  if (table === "raw") await ensureRawTables(c, DEFAULT_RAW_DATASET);
  else await c.run(`create table ${DEFAULT_RAW_DATASET}.t as select ${COLUMNS[columns[0]!]} as v from range(0) r(i)`);
  const target = `${DEFAULT_RAW_DATASET}.${table === "raw" ? "raw_detection_events" : "t"}`;
  const crossing: number[] = [];
  const within: number[] = [];
  let rows = 0;
  for (let g = 0; g < groups; g++) {
    await c.run(`insert into ${target} select ${columns.map((name) => COLUMNS[name]).join(", ")} from range(${rows}, ${rows + step}) r(i)`);
    const completed = Math.floor((rows + step) / ROW_GROUP) > Math.floor(rows / ROW_GROUP);
    rows += step;
    const started = performance.now();
    await c.run(`checkpoint ${DEFAULT_RAW_DATASET}`);
    (completed ? crossing : within).push(performance.now() - started);
  }
  db.close();
  // What the compression bought: the raw dataset's file once every row is checkpointed.
  const bytes = statSync(datasetFile(file, DEFAULT_RAW_DATASET)).size;
  removeFiles();
  return { crossing, within, bytes };
}

console.log(`${groups} appends of ${step.toLocaleString("en")} rows, a CHECKPOINT after each (DuckDB row groups hold ${ROW_GROUP.toLocaleString("en")} rows)\n`);
const all = await profile("raw", Object.keys(COLUMNS));
const total = (r: { crossing: number[]; within: number[] }) => [...r.crossing, ...r.within].reduce((a, b) => a + b, 0);
console.log("| table | checkpoints completing a row group: median (max) | other checkpoints: median (max) | all checkpoints: µs per row | file: bytes per row |");
console.log("|---|---|---|---|---|");
const medianAndMax = (times: number[]) => (times.length ? `${fmt(median(times))} (${fmt(Math.max(...times))})` : "–");
const row = (name: string, r: { crossing: number[]; within: number[]; bytes: number }) =>
  console.log(
    `| ${name} | ${medianAndMax(r.crossing)} | ${medianAndMax(r.within)} | ${((total(r) * 1000) / (groups * step)).toFixed(2)} | ${(r.bytes / (groups * step)).toFixed(1)} |`
  );
row("raw_detection_events (all 9 columns)", all);
for (const name of Object.keys(COLUMNS)) row(`\`${name}\` alone`, await profile("one", [name]));
