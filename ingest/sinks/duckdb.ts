// The embedded sink: the raw table in a DuckDB file, with exactly the columns a BigQuery subscription
// with write_metadata writes. Requests are committed in groups (one WAL fsync per group, not per
// request). The bodies themselves are handed to DuckDB: each request's JSON goes to a file as it came
// (or, when some of its events were rejected, the valid ones re-serialised) and one INSERT … FROM
// read_json parses the whole group on DuckDB's threads, so the event loop does almost no work per event.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { BatchSource, Rejection } from "../batch.ts";
import type { DetectionEvent } from "../event.ts";
import { qualifiedName, sqlString } from "../../runner/database.ts";
import { INVALID_EVENTS_TABLE, RAW_EVENTS_TABLE } from "../../runner/raw_tables.ts";
import { SinkUnavailableError, type Sink, type SinkReceipt } from "./sink.ts";

export interface DuckdbSinkOptions {
  rawSchema: string;
  subscriptionName?: string;
  /** A group closes at this many events even if more requests wait. */
  maxGroupEvents?: number;
  /** Events waiting for a commit beyond which writes are refused with 503 (back-pressure). */
  maxPendingEvents?: number;
  /** Observes each commit: events and dead letters written, seconds taken. */
  onCommit?: (events: number, deadLetters: number, seconds: number) => void;
}

interface Pending {
  events: DetectionEvent[];
  rejections: Rejection[];
  source?: BatchSource;
  resolve: (receipt: SinkReceipt) => void;
  reject: (error: Error) => void;
}

const EVENT_COLUMNS =
  "columns = {detection_oid: 'BIGINT', video_camera_oid: 'BIGINT', geographical_location_oid: 'BIGINT', item_name: 'VARCHAR', timestamp_detected: 'BIGINT'}";
const DEAD_STRUCTURE = `'[{"m":"VARCHAR","r":"VARCHAR","x":"BIGINT","a":"VARCHAR"}]'`;

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
 * A folder for the bodies of the group being committed. A sink killed mid-commit leaves its folder
 * behind (nothing in it was acknowledged): the next sink removes folders of processes that are gone.
 */
function openSpool(): string {
  for (const entry of readdirSync(tmpdir())) {
    const pid = Number(entry.slice(SPOOL_PREFIX.length).split("-")[0]);
    if (entry.startsWith(SPOOL_PREFIX) && Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
      rmSync(path.join(tmpdir(), entry), { recursive: true, force: true });
    }
  }
  return mkdtempSync(path.join(tmpdir(), `${SPOOL_PREFIX}${process.pid}-`));
}

function sqlTimestamp(micros: bigint): string {
  const date = new Date(Number(micros / 1000n));
  const fraction = (micros % 1_000_000n).toString().padStart(6, "0");
  return `TIMESTAMP '${date.toISOString().slice(0, 19).replace("T", " ")}.${fraction}'`;
}

/** The validated events as a JSON array, ids as decimal strings so nothing is rounded. */
function serialize(events: DetectionEvent[]): string {
  return `[${events
    .map(
      (e) =>
        `{"detection_oid":"${e.detection_oid}","video_camera_oid":"${e.video_camera_oid}","geographical_location_oid":"${e.geographical_location_oid}","item_name":${JSON.stringify(e.item_name)},"timestamp_detected":"${e.timestamp_detected}"}`
    )
    .join(",")}]`;
}

const FAILURE_BACKOFF_MS = 1_000;

export class DuckdbSink implements Sink {
  readonly name = "duckdb";
  private readonly connection: DuckDBConnection;
  private readonly options: Required<Omit<DuckdbSinkOptions, "onCommit">> & Pick<DuckdbSinkOptions, "onCommit">;
  private readonly idPrefix = randomBytes(6).toString("hex");
  private readonly spool = openSpool();
  private sequence = 0;
  private groups = 0;
  private lastPublishMicros = 0n;
  private queue: Pending[] = [];
  private pendingEvents = 0;
  private writing: Promise<void> | undefined;
  private closed = false;
  private failing: Error | undefined;
  private failedAt = 0;

  constructor(connection: DuckDBConnection, options: DuckdbSinkOptions) {
    this.connection = connection;
    this.options = { subscriptionName: "sightline-local", maxGroupEvents: 50_000, maxPendingEvents: 200_000, ...options };
  }

  isReady(): boolean {
    // After a failed commit, refuse for a moment (clients retry on 503), then let writes try again:
    // a sink that stayed unready until its next commit would never commit again.
    return !this.closed && (!this.failing || performance.now() - this.failedAt > FAILURE_BACKOFF_MS);
  }

  write(events: DetectionEvent[], rejections: Rejection[], source?: BatchSource): Promise<SinkReceipt> {
    if (this.closed) return Promise.reject(new SinkUnavailableError("the service is shutting down"));
    if (this.pendingEvents + events.length > this.options.maxPendingEvents) {
      return Promise.reject(new SinkUnavailableError(`the local sink has ${this.pendingEvents} events waiting to be written; retry shortly`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ events, rejections, source, resolve, reject });
      this.pendingEvents += events.length;
      this.kick();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing;
    rmSync(this.spool, { recursive: true, force: true });
  }

  private kick(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = this.writeGroups().finally(() => {
      this.writing = undefined;
      this.kick();
    });
  }

  /** Commits whatever is queued, group after group, until the queue is empty. */
  private async writeGroups(): Promise<void> {
    while (this.queue.length > 0) {
      const group: Pending[] = [];
      let size = 0;
      while (this.queue.length > 0 && (group.length === 0 || size + this.queue[0]!.events.length <= this.options.maxGroupEvents)) {
        const next = this.queue.shift()!;
        group.push(next);
        size += next.events.length;
      }
      try {
        let receipts: SinkReceipt[];
        try {
          receipts = await this.commit(group, true);
        } catch {
          // DuckDB read a body differently from the validator (e.g. a repeated key): store the
          // validated events instead, which is what the client was told it sent.
          receipts = await this.commit(group, false);
        }
        this.failing = undefined;
        group.forEach((pending, index) => pending.resolve(receipts[index]!));
      } catch (error) {
        this.failing = error as Error;
        this.failedAt = performance.now();
        const unavailable = new SinkUnavailableError(`the local sink could not commit: ${(error as Error).message.split("\n")[0]}`);
        group.forEach((pending) => pending.reject(unavailable));
      } finally {
        this.pendingEvents -= size;
      }
    }
  }

  private async commit(group: Pending[], passThrough: boolean): Promise<SinkReceipt[]> {
    const started = performance.now();
    const groupId = ++this.groups;
    const arrays: string[] = [];
    const lines: string[] = [];
    const receipts: SinkReceipt[] = [];
    const dead: string[] = [];
    let sequence = this.sequence;
    let written = 0;
    const writes: Promise<void>[] = [];
    group.forEach((pending, index) => {
      if (pending.events.length > 0) {
        const file = path.join(this.spool, `${groupId}-${index}.json`);
        const asIs = passThrough && pending.rejections.length === 0 && pending.source;
        writes.push(writeFile(file, asIs ? pending.source!.text : serialize(pending.events)));
        (asIs && pending.source!.format === "ndjson" ? lines : arrays).push(file);
        written += pending.events.length;
      }
      receipts.push({ written: pending.events.length });
      for (const r of pending.rejections) dead.push(JSON.stringify({ m: `${this.idPrefix}-d${(++sequence).toString(36)}`, r: r.reason.toWellFormed(), x: r.index, a: r.data.toWellFormed() }));
    });
    await Promise.all(writes);
    // publish_time is the commit's time, strictly increasing across commits, like Pub/Sub's.
    const nowMicros = BigInt(Date.now()) * 1000n;
    this.lastPublishMicros = nowMicros > this.lastPublishMicros ? nowMicros : this.lastPublishMicros + 1n;
    const publishTime = sqlTimestamp(this.lastPublishMicros);
    const subscription = sqlString(this.options.subscriptionName);
    const sources = [
      arrays.length ? `select * from read_json([${arrays.map(sqlString).join(", ")}], format = 'array', ${EVENT_COLUMNS})` : "",
      lines.length ? `select * from read_json([${lines.map(sqlString).join(", ")}], format = 'newline_delimited', ${EVENT_COLUMNS})` : "",
    ].filter(Boolean);
    const { rawSchema } = this.options;
    await this.connection.run("begin transaction");
    try {
      if (sources.length > 0) {
        await this.connection.run(
          `insert into ${qualifiedName(rawSchema, RAW_EVENTS_TABLE)}
           select ${subscription}, '${this.idPrefix}-' || (${sequence} + row_number() over ()), ${publishTime}, null,
             detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected
           from (${sources.join(" union all ")})`
        );
      }
      if (dead.length > 0) {
        await this.connection.run(
          `insert into ${qualifiedName(rawSchema, INVALID_EVENTS_TABLE)}
           select ${subscription}, e.m, ${publishTime}, json_object('reason', e.r, 'index', e.x), e.a
           from (select unnest(from_json($1::json, ${DEAD_STRUCTURE})) as e)`,
          [`[${dead.join(",")}]`]
        );
      }
      await this.connection.run("commit");
    } catch (error) {
      await this.connection.run("rollback").catch(() => undefined);
      throw error;
    } finally {
      for (const file of [...arrays, ...lines]) rmSync(file, { force: true });
    }
    this.sequence = sequence + written;
    this.options.onCommit?.(written, dead.length, (performance.now() - started) / 1000);
    return receipts;
  }
}
