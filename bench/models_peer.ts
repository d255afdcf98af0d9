// Models side by side: Sightline's Dataform models on DuckDB and the same dedup, location join and
// hourly rollup written directly in SQL on a PostgreSQL 15 peer, on the same raw rows, at several sizes.
//
//   npm run bench -- models-peer [--sizes 1,10,36] [--reps 5] [--dir bench-data] [--no-postgres]
//
// For each size (millions of raw rows, ~5 % copies, 10,000 rows/s of stream time):
//   DuckDB   a history built by bench/models_child.ts; REPS full refreshes (fresh processes, peak RSS
//            each); one warm-up and REPS incremental runs of 100,000 new rows (10 s at 10,000/s).
//   Postgres the same rows copied in (not timed); REPS full refreshes (dedup into detection_events with a
//            primary key, hourly counts and the hourly camera sets with theirs: what incremental runs
//            need); then the same batches the DuckDB runs appended, each followed by a timed incremental
//            run (the new rows' first copies inserted ON CONFLICT DO NOTHING, their counts added with
//            an upsert, their cameras added to the sets). Peak RSS is the sum over the server's
//            processes, sampled every 100 ms.
// Sightline's full refresh runs its whole graph (staging, enriched view, top items, quality too), the
// peer only the three steps: the comparison is conservative. Results: DIR/models-peer-results.json.
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { datasetFile, DEFAULT_RAW_DATASET, sqlString } from "../runner/database.ts";
import { POSTGRES_AVAILABLE, startPostgres, type PostgresServer } from "./postgres_server.ts";
import { runChild as child } from "./models.ts";
import { spread } from "./stats.ts";

/** Sightline's models doing what the peer's full refresh does (its other models are extra work). */
const PEER_STEPS = ["detection_events", "detection_counts_hourly"];

/** The peer's models: what a PostgreSQL team would write for dedup (first copy wins), join and rollup. */
const PEER = {
  schema: `
    create table raw_detection_events (
      subscription_name text, message_id text, publish_time timestamptz, detection_oid bigint, video_camera_oid bigint,
      geographical_location_oid bigint, item_name text, timestamp_detected bigint);
    create table geographical_locations (geographical_location_oid bigint primary key, geographical_location text);
    create table watermark (published_until timestamptz);`,
  // After loading: an index for the incremental runs' "new rows" scan (BRIN suits an append-ordered column).
  afterLoad: `create index raw_publish_time on raw_detection_events using brin (publish_time); analyze raw_detection_events; analyze geographical_locations;`,
  dedupSelect: (where: string) => `
    select distinct on (r.detection_oid)
      r.detection_oid, r.video_camera_oid, r.geographical_location_oid, l.geographical_location,
      l.geographical_location_oid is null as unknown_location, r.item_name,
      date_trunc('hour', to_timestamp(r.timestamp_detected / 1000.0) at time zone 'UTC') as detected_hour,
      r.publish_time, r.message_id
    from raw_detection_events r left join geographical_locations l using (geographical_location_oid)
    ${where}
    order by r.detection_oid, r.publish_time, r.message_id`,
  full() {
    return [
      "begin",
      "drop table if exists detection_events, detection_counts_hourly, detection_cameras_hourly",
      `create table detection_events as ${this.dedupSelect("")}`,
      "alter table detection_events add primary key (detection_oid)",
      // Counts add up across runs; distinct cameras need the set, kept as rows with their own key.
      `create table detection_counts_hourly as
         select detected_hour, geographical_location_oid, item_name, count(*) as detections from detection_events group by 1, 2, 3`,
      "alter table detection_counts_hourly add primary key (detected_hour, geographical_location_oid, item_name)",
      `create table detection_cameras_hourly as
         select distinct detected_hour, geographical_location_oid, item_name, video_camera_oid from detection_events`,
      "alter table detection_cameras_hourly add primary key (detected_hour, geographical_location_oid, item_name, video_camera_oid)",
      "delete from watermark",
      "insert into watermark select max(publish_time) from raw_detection_events",
      "commit",
    ];
  },
  incremental() {
    return [
      "begin",
      `with inserted as (
         insert into detection_events ${this.dedupSelect("where r.publish_time > (select published_until from watermark)")}
         on conflict (detection_oid) do nothing
         returning detected_hour, geographical_location_oid, item_name, video_camera_oid),
       counted as (
         insert into detection_counts_hourly
         select detected_hour, geographical_location_oid, item_name, count(*) from inserted group by 1, 2, 3
         on conflict (detected_hour, geographical_location_oid, item_name) do update set detections = detection_counts_hourly.detections + excluded.detections)
       insert into detection_cameras_hourly select distinct * from inserted on conflict do nothing`,
      "update watermark set published_until = (select max(publish_time) from raw_detection_events)",
      "commit",
    ];
  },
};

/** Runs the statements on one connection, timing the whole and sampling the server's RSS. */
async function timed(server: PostgresServer, client: pg.Client, statements: string[]) {
  let peak = server.rssMiB();
  const sampler = setInterval(() => (peak = Math.max(peak, server.rssMiB())), 100);
  const started = performance.now();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    clearInterval(sampler);
  }
  return { ms: performance.now() - started, peakRssMiB: Math.max(peak, server.rssMiB()) };
}

/** Copies raw rows of the given stream indexes (and, first, Dataset B) from the DuckDB file into the peer. */
async function copyRows(dbFile: string, client: pg.Client, where: string, scratch: string, withLocations: boolean) {
  const instance = await DuckDBInstance.create(dbFile, { access_mode: "READ_ONLY" });
  const duck = await instance.connect();
  // The raw dataset is a file of its own (runner/database.ts): attach it, read-only like the warehouse.
  await duck.run(`attach ${sqlString(datasetFile(dbFile, DEFAULT_RAW_DATASET))} as ${DEFAULT_RAW_DATASET} (read_only)`);
  const export_ = async (query: string, file: string, table: string) => {
    await duck.run(`copy (${query}) to '${file}' (format csv, header false)`);
    await pipeline(createReadStream(file), client.query(copyFrom(`copy ${table} from stdin with (format csv)`)));
    rmSync(file, { force: true });
  };
  if (withLocations) await export_("select geographical_location_oid, geographical_location from detections_raw.geographical_locations", path.join(scratch, "locations.csv"), "geographical_locations");
  await export_(
    `select subscription_name, message_id, strftime(publish_time, '%Y-%m-%d %H:%M:%S.%f+00'), detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected
     from detections_raw.raw_detection_events where ${where}`,
    path.join(scratch, "raw.csv"),
    "raw_detection_events"
  );
  duck.closeSync();
  instance.closeSync();
}

async function batches(dbFile: string): Promise<Array<{ first: bigint; rows: bigint }>> {
  const instance = await DuckDBInstance.create(dbFile, { access_mode: "READ_ONLY" });
  const duck = await instance.connect();
  const rows = (await duck.runAndReadAll("select first_index, row_count from bench_meta.batches order by first_index")).getRowObjectsJS();
  duck.closeSync();
  instance.closeSync();
  return rows.map((r) => ({ first: BigInt(r.first_index as bigint), rows: BigInt(r.row_count as bigint) }));
}

const inBatch = (b: { first: bigint; rows: bigint }) => `message_id::bigint - 1000000000000000 between ${b.first} and ${b.first + b.rows - 1n}`;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { sizes: { type: "string", default: "1,10,36" }, reps: { type: "string", default: "5" }, dir: { type: "string", default: "bench-data" }, "no-postgres": { type: "boolean", default: false } },
  });
  const reps = Number(values.reps);
  const dir = path.resolve(values.dir!);
  mkdirSync(dir, { recursive: true });
  const resultsFile = path.join(dir, "models-peer-results.json");
  const results: Record<string, any> = { startedAt: new Date().toISOString(), reps, sizes: {} };
  // Sizes not measured in this run keep their last figures, each with the date it was measured, so one
  // size can be measured again (a 36 M run with its peer takes ~35 minutes; all three ~1.5 hours).
  const wanted = values.sizes!.split(",").map((m) => `${Number(m)}M`);
  if (existsSync(resultsFile)) {
    const previous = JSON.parse(readFileSync(resultsFile, "utf8"));
    for (const [size, entry] of Object.entries<any>(previous.sizes ?? {})) {
      if (!wanted.includes(size) && entry.duckdb) results.sizes[size] = { measuredAt: previous.startedAt, reps: previous.reps, ...entry };
    }
  }
  const save = () => writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  const usePostgres = POSTGRES_AVAILABLE && !values["no-postgres"];

  for (const millions of values.sizes!.split(",").map(Number)) {
    const hours = millions / 36; // 36 M raw rows per hour at 10,000 rows/s
    const work = path.join(dir, `models-peer-${millions}m`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const db = path.join(work, "sightline.duckdb");
    const entry: Record<string, any> = { measuredAt: results.startedAt, reps, rawRows: 0 };
    results.sizes[`${millions}M`] = entry;
    console.error(`## ${millions} M raw rows: building the DuckDB history`);
    const built = await child(["build", db, String(hours), "8GB"]);
    entry.rawRows = built.rawRows;

    const full: any[] = [];
    for (let i = 0; i < reps; i++) {
      const run = await child(["full-refresh", db]);
      const modelsMs = run.actions.filter((a: any) => a.kind !== "assertion").reduce((s: number, a: any) => s + a.durationMs, 0);
      // The peer's three steps on Sightline's side: dedup with the location join, and the hourly rollup.
      const sameStepsMs = run.actions.filter((a: any) => PEER_STEPS.includes(a.name.split(".").pop())).reduce((s: number, a: any) => s + a.durationMs, 0);
      full.push({ modelsMs, sameStepsMs, vmHwmKb: run.vmHwmKb });
      console.error(`  duckdb full refresh ${i + 1}: ${(modelsMs / 1000).toFixed(1)} s, peak ${(run.vmHwmKb / 1024).toFixed(0)} MiB`);
    }
    entry.duckdb = {
      fullRefreshMs: spread(full.map((r) => r.modelsMs)),
      sameStepsMs: spread(full.map((r) => r.sameStepsMs)),
      fullRefreshPeakRssMiB: spread(full.map((r) => r.vmHwmKb / 1024)),
    };
    const incremental = await child(["incremental", db, String(reps)]);
    entry.duckdb.incrementalMs = spread(incremental.runs.map((r: any) => r.run.durationMs));
    entry.duckdb.incrementalPeakRssMiB = incremental.vmHwmKb / 1024;
    console.error(`  duckdb incremental: ${JSON.stringify(entry.duckdb.incrementalMs)}`);
    save();

    if (usePostgres) {
      const server = await startPostgres();
      results.postgresVersion = server.version;
      const client = new pg.Client(server.config);
      await client.connect();
      try {
        await client.query(PEER.schema);
        const all = await batches(db);
        const [history, ...increments] = all;
        const loadStarted = performance.now();
        await copyRows(db, client, inBatch(history!), work, true);
        await client.query(PEER.afterLoad);
        entry.postgresLoadMs = performance.now() - loadStarted;
        const pgFull: Array<{ ms: number; peakRssMiB: number }> = [];
        for (let i = 0; i < reps; i++) {
          pgFull.push(await timed(server, client, PEER.full()));
          console.error(`  postgres full refresh ${i + 1}: ${(pgFull.at(-1)!.ms / 1000).toFixed(1)} s, peak ${pgFull.at(-1)!.peakRssMiB.toFixed(0)} MiB`);
        }
        const pgIncremental: number[] = [];
        for (const [i, batch] of increments.entries()) {
          await copyRows(db, client, inBatch(batch), work, false);
          const run = await timed(server, client, PEER.incremental());
          if (i > 0) pgIncremental.push(run.ms); // the first increment is the warm-up, as on DuckDB
        }
        entry.postgres = {
          fullRefreshMs: spread(pgFull.map((r) => r.ms)),
          fullRefreshPeakRssMiB: spread(pgFull.map((r) => r.peakRssMiB)),
          incrementalMs: spread(pgIncremental),
        };
        entry.fullRefreshSpeedup = entry.postgres.fullRefreshMs.median / entry.duckdb.fullRefreshMs.median;
        entry.sameStepsSpeedup = entry.postgres.fullRefreshMs.median / entry.duckdb.sameStepsMs.median;
        console.error(`  postgres incremental: ${JSON.stringify(entry.postgres.incrementalMs)}; full refresh ${entry.fullRefreshSpeedup.toFixed(1)}× slower than DuckDB`);
      } finally {
        await client.end();
        await server.stop();
      }
    }
    save();
    rmSync(work, { recursive: true, force: true });
  }
  results.finishedAt = new Date().toISOString();
  save();
  console.log(JSON.stringify(results, null, 2));
}
