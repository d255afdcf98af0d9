// The embedded sink: the raw table in a DuckDB file, with exactly the columns a BigQuery subscription
// with write_metadata writes. Requests are committed in groups (one WAL fsync per group, not per
// request). The bodies themselves are handed to DuckDB: each request's JSON goes to a file as it came
// (NDJSON wrapped into an array; when some of its events were rejected, the valid ones re-serialised)
// and one INSERT … FROM read_json parses the whole group on DuckDB's threads, so the event loop does
// almost no work per event.
// A long-lived process appending to a DuckDB file keeps metadata for every row group it wrote, which
// no memory_limit evicts (~2.6 MB per million rows: a 64MB service failed every commit after ~10 M
// rows, and RSS kept rising). Where the sink owns its file it therefore starts a fresh DuckDB instance
// on it every `reopen.everyRows` rows, between two commits (20 - 110 ms, commits queue meanwhile;
// RELIABILITY.md, "Soak").
// The sink checkpoints the raw dataset itself, between commits (runner/checkpoints.ts).
// Where the service owns its file, this sink runs on a thread of its own (./duckdb_thread.ts), so a
// commit's completion is not kept waiting behind the requests the event loop is parsing.
// One connection commits one group at a time. (Two or four connections committing side by side were
// measured: no faster, and p99 worse, because DuckDB's automatic checkpoint inside a commit holds
// every other commit back; BENCHMARKS.md, "Ingest".)
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { BatchSource, Rejection } from "../batch.ts";
import type { DetectionEvent } from "../event.ts";
import { OwnedCheckpoints, RAW_CHECKPOINT_BYTES } from "../../runner/checkpoints.ts";
import { qualifiedName, sqlString } from "../../runner/database.ts";
import { INVALID_EVENTS_TABLE, RAW_EVENTS_TABLE } from "../../runner/raw_tables.ts";
import { SinkUnavailableError, type Sink, type SinkReceipt } from "./sink.ts";

export interface DuckdbSinkOptions {
  rawSchema: string;
  subscriptionName?: string;
  /** A group closes at this many events even if more requests wait. */
  maxGroupEvents?: number;
  /** …or at this many characters of request bodies (see MAX_GROUP_CHARACTERS). */
  maxGroupCharacters?: number;
  /** Events waiting for a commit beyond which writes are refused with 503 (back-pressure). */
  maxPendingEvents?: number;
  /** Observes each commit: events and dead letters written, seconds taken. */
  onCommit?: (events: number, deadLetters: number, seconds: number) => void;
  /** The raw dataset's WAL size beyond which the sink checkpoints it (RAW_CHECKPOINT_BYTES). */
  checkpointEveryBytes?: number;
  /** Observes each checkpoint of the raw dataset the sink takes: seconds taken. */
  onCheckpoint?: (seconds: number) => void;
  /** Only where the sink owns its file (the local stack shares its instance with the models). */
  reopen?: Reopening;
  /**
   * After a commit, while fewer than `events` wait, let the next group fill for up to `ms` first: each
   * commit costs DuckDB ~2.7 ms of CPU whatever its size, so groups started the moment the last one
   * ended (on the sink's own thread) were small and cost more per event.
   */
  linger?: { events: number; ms: number };
}

/** How the sink starts a fresh DuckDB instance on its file. */
export interface Reopening {
  /** Rows written after which the sink reopens its file. */
  everyRows: number;
  /** Closes the sink's DuckDB instance, opens the file again and returns a connection to the new one. */
  open: () => Promise<DuckDBConnection>;
  /** Observes each reopening: seconds taken. */
  observe?: (seconds: number) => void;
}

interface Pending {
  /** Valid events in the request. */
  count: number;
  /** The valid events as the JSON array DuckDB reads, when the body cannot be stored as it came. */
  validJson: () => string;
  /** The body's size in characters (the JSON DuckDB will read for it). */
  characters: number;
  rejections: Rejection[];
  source?: BatchSource;
  resolve: (receipt: SinkReceipt) => void;
  reject: (error: Error) => void;
}

/** Requests committed together, with their message id numbers. */
interface Group {
  id: number;
  requests: Pending[];
  events: number;
  /** The first message id number: dead letters take the numbers after it, then the events. */
  sequence: number;
}

const EVENT_COLUMNS =
  "columns = {detection_oid: 'BIGINT', video_camera_oid: 'BIGINT', geographical_location_oid: 'BIGINT', item_name: 'VARCHAR', timestamp_detected: 'BIGINT'}";
const DEAD_COLUMNS = "columns = {m: 'VARCHAR', r: 'VARCHAR', x: 'BIGINT', a: 'VARCHAR'}";

/** An upper bound on a string's UTF-8 size without encoding it: at most 3 bytes per UTF-16 unit. */
const utf8Bound = (text: string) => text.length * 3;

/**
 * read_json's maximum_object_size, fitted to the group's largest file (nothing in a file is larger than
 * the file) rather than DuckDB's default of 16 MB, so its buffers stay small.
 */
const objectSize = (bytes: number) => `maximum_object_size = ${Math.max(bytes + 1, 4096)}`;

const SPOOL_PREFIX = "sightline-sink-";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Where spool folders go: shared memory where there is one (Linux's /dev/shm), else the temporary
 * directory. The bodies only live there until their group commits, and a crash loses nothing
 * acknowledged, so they need no disk: on this machine's disk-backed /tmp, writing a group's bodies
 * took ~15 ms under load, a third of a commit cycle; in /dev/shm it takes well under 1 ms.
 */
export function spoolRoot(): string {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

/**
 * A folder for the bodies of the groups being committed. A sink killed mid-commit leaves its folder
 * behind (nothing in it was acknowledged): the next sink removes folders of processes that are gone.
 */
function openSpool(): string {
  const root = spoolRoot();
  for (const entry of readdirSync(root)) {
    const pid = Number(entry.slice(SPOOL_PREFIX.length).split("-")[0]);
    if (entry.startsWith(SPOOL_PREFIX) && Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
      rmSync(path.join(root, entry), { recursive: true, force: true });
    }
  }
  return mkdtempSync(path.join(root, `${SPOOL_PREFIX}${process.pid}-`));
}

function sqlTimestamp(micros: bigint): string {
  const date = new Date(Number(micros / 1000n));
  const fraction = (micros % 1_000_000n).toString().padStart(6, "0");
  return `TIMESTAMP '${date.toISOString().slice(0, 19).replace("T", " ")}.${fraction}'`;
}

/**
 * A body as DuckDB reads it: JSON arrays as they came, NDJSON wrapped into one. DuckDB's reader for
 * newline-delimited JSON allocates a 32 MB buffer per thread whatever the file's size, which a small
 * memory_limit cannot hold (the array reader needs no such buffer).
 */
function asJsonArray(source: BatchSource): string {
  return source.format === "array" ? source.text : `[${source.lines.join(",")}]`;
}

/** The validated events as a JSON array, ids as decimal strings so nothing is rounded. */
export function serialize(events: DetectionEvent[]): string {
  return `[${events
    .map(
      (e) =>
        `{"detection_oid":"${e.detection_oid}","video_camera_oid":"${e.video_camera_oid}","geographical_location_oid":"${e.geographical_location_oid}","item_name":${JSON.stringify(e.item_name)},"timestamp_detected":"${e.timestamp_detected}"}`
    )
    .join(",")}]`;
}

export const FAILURE_BACKOFF_MS = 1_000;

/**
 * A group's bodies are read and inserted in one statement, and with the raw file's small row groups a
 * large insert compresses whole row groups as it goes: both take memory in proportion to the group.
 * Four of the largest bodies (8 MB each) in one group ran out of memory at DUCKDB_MEMORY_LIMIT=64MB;
 * two fit (test/ingest/small_memory.test.ts). The benchmark's groups (500-event bodies) stay far below.
 */
const MAX_GROUP_CHARACTERS = 16 * 1024 * 1024;

/** The size of what DuckDB will read for a request: its body, or the valid events re-serialised. */
export function characters(events: DetectionEvent[], source?: BatchSource): number {
  if (!source) return events.reduce((sum, e) => sum + e.item_name.length + 160, 0);
  return source.format === "array" ? source.text.length : source.lines.reduce((sum, line) => sum + line.length + 1, 0);
}

export class DuckdbSink implements Sink {
  readonly name = "duckdb";
  private connection: DuckDBConnection | undefined;
  private readonly options: Required<Omit<DuckdbSinkOptions, "onCommit" | "onCheckpoint" | "reopen" | "linger">> & Pick<DuckdbSinkOptions, "onCommit" | "onCheckpoint" | "reopen" | "linger">;
  private rowsSinceOpen = 0;
  private checkpoints: OwnedCheckpoints | undefined;
  private readonly idPrefix = randomBytes(6).toString("hex");
  private readonly spool = openSpool();
  private sequence = 0;
  private groups = 0;
  private lastPublishMicros = 0n;
  private queue: Pending[] = [];
  private pendingEvents = 0;
  private writing: Promise<void> | undefined;
  private lingering: NodeJS.Timeout | undefined;
  private closed = false;
  private failing: Error | undefined;
  private failedAt = 0;

  constructor(connection: DuckDBConnection, options: DuckdbSinkOptions) {
    this.connection = connection;
    this.options = { subscriptionName: "sightline-local", maxGroupEvents: 50_000, maxGroupCharacters: MAX_GROUP_CHARACTERS, maxPendingEvents: 200_000, checkpointEveryBytes: RAW_CHECKPOINT_BYTES, ...options };
  }

  isReady(): boolean {
    // After a failed commit, refuse for a moment (clients retry on 503), then let writes try again:
    // a sink that stayed unready until its next commit would never commit again.
    return !this.closed && (!this.failing || performance.now() - this.failedAt > FAILURE_BACKOFF_MS);
  }

  write(events: DetectionEvent[], rejections: Rejection[], source?: BatchSource): Promise<SinkReceipt> {
    return this.writeCounted(events.length, characters(events, source), rejections, source, () => serialize(events));
  }

  /**
   * write() for a caller that holds the valid events' count rather than the events (the writer thread,
   * ./duckdb_thread.ts): `validJson` gives them as JSON only if DuckDB cannot store `source` as it came.
   */
  writeCounted(count: number, characters: number, rejections: Rejection[], source: BatchSource | undefined, validJson: () => string): Promise<SinkReceipt> {
    if (this.closed) return Promise.reject(new SinkUnavailableError("the service is shutting down"));
    if (this.pendingEvents + count > this.options.maxPendingEvents) {
      return Promise.reject(new SinkUnavailableError(`the local sink has ${this.pendingEvents} events waiting to be written; retry shortly`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ count, validJson, characters, rejections, source, resolve, reject });
      this.pendingEvents += count;
      this.kick();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.writing || this.queue.length > 0) {
      this.startGroup();
      await this.writing;
    }
    rmSync(this.spool, { recursive: true, force: true });
  }

  private kick(): void {
    if (this.writing || this.queue.length === 0) return;
    const linger = this.options.linger;
    if (linger && !this.closed && this.pendingEvents < linger.events) {
      this.lingering ??= setTimeout(() => this.startGroup(), linger.ms);
      return;
    }
    this.startGroup();
  }

  private startGroup(): void {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    if (this.writing || this.queue.length === 0) return;
    this.writing = this.writeGroup(this.takeGroup()).finally(() => {
      this.writing = undefined;
      this.kick();
    });
  }

  /** The queued requests up to maxGroupEvents and maxGroupCharacters (at least one), with their message id numbers reserved. */
  private takeGroup(): Group {
    const requests: Pending[] = [];
    let events = 0;
    let characters = 0;
    let rejections = 0;
    const fits = (next: Pending) =>
      events + next.count <= this.options.maxGroupEvents && characters + next.characters <= this.options.maxGroupCharacters;
    while (this.queue.length > 0 && (requests.length === 0 || fits(this.queue[0]!))) {
      const next = this.queue.shift()!;
      requests.push(next);
      events += next.count;
      characters += next.characters;
      rejections += next.rejections.length;
    }
    const group = { id: ++this.groups, requests, events, sequence: this.sequence };
    this.sequence += rejections + events;
    return group;
  }

  private async writeGroup(group: Group): Promise<void> {
    try {
      const connection = await this.openConnection();
      let receipts: SinkReceipt[];
      try {
        receipts = await this.commit(connection, group, true);
      } catch {
        // DuckDB read a body differently from the validator (e.g. a repeated key): store the
        // validated events instead, which is what the client was told it sent.
        receipts = await this.commit(connection, group, false);
      }
      this.failing = undefined;
      group.requests.forEach((pending, index) => pending.resolve(receipts[index]!));
      this.rowsSinceOpen += group.events;
      if (this.options.reopen && this.rowsSinceOpen >= this.options.reopen.everyRows) {
        // The next group opens the file afresh (and, should that fail, is refused with 503 and retried).
        connection.closeSync();
        this.connection = undefined;
        this.checkpoints = undefined;
      } else {
        // Should it fail, the sink refuses writes for a moment, as after a failed commit.
        await this.checkpointIfDue(connection);
      }
    } catch (error) {
      this.failing = error as Error;
      this.failedAt = performance.now();
      const unavailable = new SinkUnavailableError(`the local sink could not commit: ${(error as Error).message.split("\n")[0]}`);
      group.requests.forEach((pending) => pending.reject(unavailable));
    } finally {
      this.pendingEvents -= group.events;
    }
  }

  /**
   * The raw dataset's checkpoint, once its WAL passed checkpointEveryBytes (runner/checkpoints.ts):
   * after the group's clients were answered, before the next group commits, as DuckDB's own would.
   */
  private async checkpointIfDue(connection: DuckDBConnection): Promise<void> {
    this.checkpoints ??= await OwnedCheckpoints.of(connection, this.options.checkpointEveryBytes, this.options.rawSchema);
    const ms = await this.checkpoints.maybe(connection);
    if (ms > 0) this.options.onCheckpoint?.(ms / 1000);
  }

  /** The connection to commit on, after reopening the file if the last group closed it. */
  private async openConnection(): Promise<DuckDBConnection> {
    if (this.connection) return this.connection;
    // Only a sink with `reopen` ever lets go of its connection.
    const reopen = this.options.reopen!;
    const started = performance.now();
    this.connection = await reopen.open();
    this.rowsSinceOpen = 0;
    reopen.observe?.((performance.now() - started) / 1000);
    return this.connection;
  }

  private async commit(connection: DuckDBConnection, group: Group, passThrough: boolean): Promise<SinkReceipt[]> {
    const started = performance.now();
    const files: string[] = [];
    const receipts: SinkReceipt[] = [];
    const dead: string[] = [];
    let sequence = group.sequence;
    let written = 0;
    let largestBody = 0;
    let largestDead = 0;
    group.requests.forEach((pending, index) => {
      if (pending.count > 0) {
        const file = path.join(this.spool, `${group.id}-${index}.json`);
        const asIs = passThrough && pending.rejections.length === 0 && pending.source;
        // Synchronous: a memory-backed write of one body takes tens of microseconds, less than a
        // round trip through libuv's thread pool, which DuckDB's calls are using at the same time.
        const text = asIs ? asJsonArray(pending.source!) : pending.validJson();
        writeFileSync(file, text);
        largestBody = Math.max(largestBody, utf8Bound(text));
        files.push(file);
        written += pending.count;
      }
      receipts.push({ written: pending.count });
      for (const r of pending.rejections) {
        const letter = JSON.stringify({ m: `${this.idPrefix}-d${(++sequence).toString(36)}`, r: r.reason.toWellFormed(), x: r.index, a: r.data.toWellFormed() });
        dead.push(letter);
        largestDead = Math.max(largestDead, utf8Bound(letter));
      }
    });
    const deadFile = path.join(this.spool, `${group.id}-dead.json`);
    if (dead.length > 0) writeFileSync(deadFile, `[${dead.join(",")}]`);
    // publish_time is the commit's time, strictly increasing across commits, like Pub/Sub's.
    const nowMicros = BigInt(Date.now()) * 1000n;
    this.lastPublishMicros = nowMicros > this.lastPublishMicros ? nowMicros : this.lastPublishMicros + 1n;
    const publishTime = sqlTimestamp(this.lastPublishMicros);
    const subscription = sqlString(this.options.subscriptionName);
    const { rawSchema } = this.options;
    // The whole transaction is one call: each separate call would wait for its turn on the event
    // loop, which is busy parsing and validating the next requests (~9 ms per call under load).
    const statements = ["begin transaction"];
    if (files.length > 0) {
      statements.push(
        `insert into ${qualifiedName(rawSchema, RAW_EVENTS_TABLE)}
         select ${subscription}, '${this.idPrefix}-' || (${sequence} + row_number() over ()), ${publishTime}, null,
           detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected
         from read_json([${files.map(sqlString).join(", ")}], format = 'array', ${EVENT_COLUMNS}, ${objectSize(largestBody)})`
      );
    }
    if (dead.length > 0) {
      statements.push(
        `insert into ${qualifiedName(rawSchema, INVALID_EVENTS_TABLE)}
         select ${subscription}, m, ${publishTime}, json_object('reason', r, 'index', x), a
         from read_json(${sqlString(deadFile)}, format = 'array', ${DEAD_COLUMNS}, ${objectSize(largestDead)})`
      );
    }
    statements.push("commit");
    try {
      await connection.run(statements.join(";\n"));
    } catch (error) {
      await connection.run("rollback").catch(() => undefined);
      throw error;
    } finally {
      for (const file of [...files, deadFile]) rmSync(file, { force: true });
    }
    this.options.onCommit?.(written, dead.length, (performance.now() - started) / 1000);
    return receipts;
  }
}
