// Deterministic benchmark data, generated inside DuckDB (INSERT ... SELECT from range()), shaped as the
// Pub/Sub BigQuery subscription writes raw_detection_events, plus Dataset B as Parquet.
//
// The stream is a sequence of rows k = 0, 1, 2, ... at `rate` rows/s. Row k is published at
//   start + k / rate + shift(batch of k)
// so publish_time increases with row order, as the sink writes it. Each row is either an original
// detection (~95 %) or a copy (~5 %) of an earlier original row j, re-sent seconds to hours later with a
// new message_id; about 2 % of copies conflict (another item or camera). Every column of an original
// is a pure function of its row index (hashes of k and the seed), so a copy rebuilds its original's
// columns from j alone, without reading the table. detection_oid is snowflake-like:
// (detected ms since 2020) << 22 | (k mod 2^22), so ids increase with time.
//
// Batches (the history, then each appended increment) are recorded in bench_meta.batches; a batch
// may start later than the previous one ended (a gap in the stream), which its shift records.
import { openDatabase, type Database } from "../runner/database.ts";
import { ensureRawTables } from "../runner/raw_tables.ts";
import { locationsFileFor } from "../runner/transform.ts";

export const RAW_SCHEMA = "detections_raw";
export const META_SCHEMA = "bench_meta";
export const SUBSCRIPTION = "projects/sightline-bench/subscriptions/raw-detections-bq";
export const LOCATIONS = 10_000;
export const ITEMS = 300;
export const CAMERAS_PER_LOCATION = 8;
/** Copies per 1,000 rows. */
export const COPIES_PER_MILLE = 50;
/** Invalid (dead-letter) events per million rows. */
const INVALID_PER_MILLION = 100;
const SNOWFLAKE_EPOCH_MS = 1_577_836_800_000n; // 2020-01-01

export interface StreamSettings {
  /** Rows per second. */
  rate: number;
  seed: number;
}

export interface Batch {
  firstIndex: bigint;
  rows: bigint;
  /** Microseconds added to the nominal time start + k / rate. */
  shiftUs: bigint;
}

interface Meta extends StreamSettings {
  startUs: bigint;
  batches: Batch[];
}

const nowUs = () => BigInt(Date.now()) * 1000n;

async function readMeta(db: Database): Promise<Meta | null> {
  const exists = await db.connection.runAndReadAll(
    `select count(*) as n from information_schema.tables where table_schema = '${META_SCHEMA}' and table_name = 'stream'`
  );
  if (Number(exists.getRowObjectsJS()[0]?.n) === 0) return null;
  const stream = (await db.connection.runAndReadAll(`select rate, seed, start_us from ${META_SCHEMA}.stream`)).getRowObjectsJS()[0];
  if (!stream) return null;
  const batches = (await db.connection.runAndReadAll(`select first_index, row_count, shift_us from ${META_SCHEMA}.batches order by first_index`))
    .getRowObjectsJS()
    .map((r) => ({ firstIndex: BigInt(r.first_index as bigint), rows: BigInt(r.row_count as bigint), shiftUs: BigInt(r.shift_us as bigint) }));
  return { rate: Number(stream.rate), seed: Number(stream.seed), startUs: BigInt(stream.start_us as bigint), batches };
}

/**
 * Temp macros giving every column of row k. `shift(k)` is a CASE over the recorded batches, so a copy
 * finds its original's publish time even across a gap between batches.
 */
async function defineMacros(db: Database, meta: Meta, batches: Batch[]): Promise<void> {
  const { rate, seed, startUs } = meta;
  const shiftCase =
    batches.length === 0
      ? "0::bigint"
      : `case ${[...batches].reverse().map((b) => `when k >= ${b.firstIndex} then ${b.shiftUs}::bigint`).join(" ")} else 0::bigint end`;
  const h = (salt: number, k = "k") => `hash(${k}, ${seed}, ${salt})`;
  const macros = [
    `shift_us(k) as ${shiftCase}`,
    `publish_us(k) as ${startUs}::bigint + (k::bigint * 1000000) // ${rate} + shift_us(k)`,
    `is_copy(k) as k > 0 and ${h(1)} % 1000 < ${COPIES_PER_MILLE}`,
    // Camera-to-Pub/Sub lag: 20 ms to 1.5 s, and a 1 % tail of up to a minute.
    `lag_ms(k) as 20 + (${h(2)} % 1500)::bigint + case when ${h(3)} % 100 = 0 then (${h(4)} % 60000)::bigint else 0 end`,
    `detected_ms(k) as publish_us(k) // 1000 - lag_ms(k)`,
    `oid(k) as (detected_ms(k) - ${SNOWFLAKE_EPOCH_MS}) * 4194304 + k % 4194304`,
    // 0.5 % of rows name one of 100 locations that Dataset B does not have.
    `loc(k) as case when ${h(5)} % 1000 < 5 then 900000 + (${h(6)} % 100)::bigint else 1 + (${h(7)} % ${LOCATIONS})::bigint end`,
    `camera(k) as loc(k) * 1000 + (${h(8)} % ${CAMERAS_PER_LOCATION})::bigint`,
    // Skewed items: index = floor(ITEMS * u^3), so item 0 is the most common.
    `item(k) as 'item-' || lpad(floor(${ITEMS} * pow((${h(9)} % 1000000) / 1000000.0, 3))::bigint::varchar, 3, '0')`,
    // Copy delay: 70 % 0.1-10 s, 20 % 10 s-10 min, 8 % 10 min-1 h, 2 % 1-6 h; in rows of the stream.
    `delay_rows(k) as greatest(1, (case
        when ${h(10)} % 100 < 70 then 100000 + ${h(11)} % 9900000
        when ${h(10)} % 100 < 90 then 10000000 + ${h(11)} % 590000000
        when ${h(10)} % 100 < 98 then 600000000 + ${h(11)} % 3000000000
        else 3600000000 + ${h(11)} % 18000000000 end)::bigint * ${rate} // 1000000)`,
    // The original a copy repeats: the first non-copy at or just before k - delay.
    `original_of(k) as case
        when k - delay_rows(k) < 0 then null
        when not is_copy(k - delay_rows(k)) then k - delay_rows(k)
        when not is_copy(k - delay_rows(k) - 1) then k - delay_rows(k) - 1
        else k - delay_rows(k) - 2 end`,
    `is_conflicting(k) as ${h(12)} % 100 < 2`,
  ];
  for (const macro of macros) await db.connection.run(`create or replace temp macro ${macro}`);
}

function rowsSql(firstIndex: bigint, rows: bigint): string {
  return `
    with indexes as (
      select ${firstIndex}::bigint + i as k from ${META_SCHEMA}.indexes where i < ${rows}::bigint
    ),
    sourced as (
      select k, case when is_copy(k) then coalesce(original_of(k), k) else k end as j from indexes
    )
    select
      '${SUBSCRIPTION}' as subscription_name,
      (1000000000000000 + k)::varchar as message_id,
      make_timestamp(publish_us(k)) as publish_time,
      null::json as attributes,
      oid(j) as detection_oid,
      case when j != k and is_conflicting(k) and ${"hash(k, 13)"} % 2 = 0 then camera(j) + 1 else camera(j) end as video_camera_oid,
      loc(j) as geographical_location_oid,
      case when j != k and is_conflicting(k) and ${"hash(k, 13)"} % 2 = 1 then item(j + 1) else item(j) end as item_name,
      detected_ms(j) as timestamp_detected
    from sourced`;
}

export interface AppendResult {
  batch: Batch;
  firstPublish: Date;
  lastPublish: Date;
  durationMs: number;
}

/**
 * Appends `seconds` of the stream (rows = seconds * rate), ending `endBeforeNowSeconds` before now.
 * The first call creates the stream; later calls continue it (with a gap if time has passed).
 */
export async function appendStream(
  db: Database,
  options: { seconds: number; endBeforeNowSeconds?: number; settings?: StreamSettings; chunkRows?: number; log?: (line: string) => void }
): Promise<AppendResult> {
  const started = performance.now();
  await ensureRawTables(db.connection, RAW_SCHEMA);
  await db.connection.run(`create schema if not exists ${META_SCHEMA}`);
  let meta = await readMeta(db);
  const endUs = nowUs() - BigInt(Math.round((options.endBeforeNowSeconds ?? 60) * 1e6));
  const settings = options.settings ?? { rate: 10_000, seed: 42 };
  const rate = meta?.rate ?? settings.rate;
  const rows = BigInt(Math.round(options.seconds * rate));
  let batch: Batch;
  if (!meta) {
    // Nominal time of row `rows` is endUs: the history ends just before now.
    const startUs = endUs - (rows * 1_000_000n) / BigInt(rate);
    await db.connection.run(`create table ${META_SCHEMA}.stream (rate integer, seed integer, start_us bigint)`);
    await db.connection.run(`create table ${META_SCHEMA}.batches (first_index bigint, row_count bigint, shift_us bigint)`);
    await db.connection.run(`insert into ${META_SCHEMA}.stream values (${rate}, ${settings.seed}, ${startUs})`);
    meta = { rate, seed: settings.seed, startUs, batches: [] };
    batch = { firstIndex: 0n, rows, shiftUs: 0n };
  } else {
    const last = meta.batches[meta.batches.length - 1]!;
    const firstIndex = last.firstIndex + last.rows;
    const nominalEnd = meta.startUs + ((firstIndex + rows) * 1_000_000n) / BigInt(rate);
    // Never earlier than the previous batch's continuation: publish_time keeps increasing.
    const shiftUs = endUs - nominalEnd > last.shiftUs ? endUs - nominalEnd : last.shiftUs;
    batch = { firstIndex, rows, shiftUs };
  }
  await defineMacros(db, meta, [...meta.batches, batch]);
  const chunk = BigInt(options.chunkRows ?? 20_000_000);
  // range() is one thread; a scan of a stored table of indexes runs on every core, in order.
  await db.connection.run(`create or replace table ${META_SCHEMA}.indexes as select range as i from range(${rows < chunk ? rows : chunk}::bigint)`);
  for (let from = 0n; from < rows; from += chunk) {
    const n = rows - from < chunk ? rows - from : chunk;
    const t0 = performance.now();
    await db.connection.run(`insert into ${RAW_SCHEMA}.raw_detection_events ${rowsSql(batch.firstIndex + from, n)}`);
    options.log?.(`  rows ${from + n}/${rows} (${((Number(n) / (performance.now() - t0)) * 1000 / 1e6).toFixed(2)} M rows/s)`);
  }
  // A few dead letters, spread over the batch.
  const invalid = (rows * BigInt(INVALID_PER_MILLION)) / 1_000_000n;
  if (invalid > 0n) {
    await db.connection.run(`insert into ${RAW_SCHEMA}.invalid_detection_events
      select '${SUBSCRIPTION}', 'dl-' || (${batch.firstIndex} + range * 10000)::varchar,
             make_timestamp(publish_us(${batch.firstIndex} + range * 10000)),
             json_object('reason', 'item_name: too long', 'index', 0), '{"detection_oid":"x"}'
      from range(${invalid}::bigint)`);
  }
  await db.connection.run(`drop table ${META_SCHEMA}.indexes`);
  await db.connection.run(`insert into ${META_SCHEMA}.batches values (${batch.firstIndex}, ${batch.rows}, ${batch.shiftUs})`);
  const bounds = (
    await db.connection.runAndReadAll(
      `select make_timestamp(publish_us(${batch.firstIndex}))::varchar as first, make_timestamp(publish_us(${batch.firstIndex + rows - 1n}))::varchar as last`
    )
  ).getRowObjectsJS()[0]!;
  return {
    batch,
    firstPublish: new Date(`${bounds.first}Z`),
    lastPublish: new Date(`${bounds.last}Z`),
    durationMs: performance.now() - started,
  };
}

/**
 * Brings the stream up to 1 s before now, as a live one would have delivered it: from where it stopped,
 * or from the start of the current hour when it stopped before that (at least 10 s). Without this, an
 * incremental run over a history that ended a while ago finds its current hour almost empty, where a
 * live stream's holds up to 3 M (hour, location, item) counts, and the late-copy slots far apart.
 */
export async function catchUpStream(db: Database, log?: (line: string) => void): Promise<AppendResult> {
  const stoppedAt = (
    await db.connection.runAndReadAll(`select epoch_ms(max(publish_time)) as ms from ${RAW_SCHEMA}.raw_detection_events`)
  ).getRowObjectsJS()[0]!.ms;
  const now = Date.now();
  const hourStart = Math.floor(now / 3_600_000) * 3_600_000;
  const from = Math.max(Number(stoppedAt ?? 0), hourStart);
  const seconds = Math.max(10, Math.round((now - 1_000 - from) / 1000));
  const appended = await appendStream(db, { seconds, endBeforeNowSeconds: 1 });
  log?.(`caught the stream up: ${seconds} s, ${(Number(appended.batch.rows) / 1e6).toFixed(1)} M rows`);
  return appended;
}

/**
 * The next `seconds` of the stream, appended once they are in the past: a live stream's pace. (Appended
 * faster, the data runs ahead of the clock, and the models that cut windows by the clock see other
 * windows than a live stream gives them: late-copy sweeps on every run instead of once per slot.)
 */
export async function appendWhenPast(db: Database, previous: AppendResult | undefined, seconds = 10): Promise<AppendResult> {
  const wait = (previous ? previous.lastPublish.getTime() : 0) + seconds * 1000 + 1_000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  return appendStream(db, { seconds, endBeforeNowSeconds: 1 });
}

/** Dataset B: LOCATIONS rows, written as Parquet where the runner reads it. */
export async function writeLocations(db: Database): Promise<string> {
  const file = locationsFileFor(db.path);
  await db.connection.run(`copy (
      select range::bigint as geographical_location_oid,
             'Site ' || range::varchar || ' / ' || (['North', 'South', 'East', 'West', 'Central'])[range % 5 + 1] || ' gate ' || (range % 37)::varchar as geographical_location
      from range(1, ${LOCATIONS + 1})
    ) to '${file.replace(/'/g, "''")}' (format parquet)`);
  return file;
}

/** A fresh database with `hours` of history at `rate` rows/s and Dataset B next to it. */
export async function generateHistory(
  dbPath: string,
  options: { hours: number; rate?: number; seed?: number; memoryLimit?: string; log?: (line: string) => void }
): Promise<AppendResult> {
  const db = await openDatabase(dbPath, { memoryLimit: options.memoryLimit ?? "8GB" });
  try {
    await writeLocations(db);
    const result = await appendStream(db, {
      seconds: options.hours * 3600,
      endBeforeNowSeconds: 60,
      settings: { rate: options.rate ?? 10_000, seed: options.seed ?? 42 },
      log: options.log,
    });
    await db.connection.run("checkpoint");
    return result;
  } finally {
    db.close();
  }
}

// `node bench/generate.ts DB_PATH HOURS [RATE]`: generate a history on its own.
if (import.meta.main) {
  const [dbPath, hours, rate] = process.argv.slice(2);
  if (!dbPath || !hours) {
    console.error("usage: node bench/generate.ts DB_PATH HOURS [RATE]");
    process.exit(2);
  }
  const result = await generateHistory(dbPath, { hours: Number(hours), rate: rate ? Number(rate) : undefined, log: console.log });
  console.log(JSON.stringify({ rows: String(result.batch.rows), first: result.firstPublish, last: result.lastPublish, seconds: result.durationMs / 1000 }));
}
