// The embedded sink: the raw table in a DuckDB file, with exactly the columns a BigQuery subscription
// with write_metadata writes. Requests are committed in groups (one WAL fsync per group, not per
// request), and each group is handed to DuckDB as one JSON document that DuckDB parses and inserts on
// its own threads, so the event loop only serialises.
import { randomBytes } from "node:crypto";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Rejection } from "../batch.ts";
import type { DetectionEvent } from "../event.ts";
import { qualifiedName } from "../../runner/database.ts";
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
  resolve: (receipt: SinkReceipt) => void;
  reject: (error: Error) => void;
}

const EVENT_STRUCTURE = `'[{"m":"VARCHAR","d":"BIGINT","c":"BIGINT","l":"BIGINT","i":"VARCHAR","t":"BIGINT"}]'`;
const DEAD_STRUCTURE = `'[{"m":"VARCHAR","r":"VARCHAR","x":"BIGINT","a":"VARCHAR"}]'`;

function sqlTimestamp(micros: bigint): string {
  const date = new Date(Number(micros / 1000n));
  const fraction = (micros % 1_000_000n).toString().padStart(6, "0");
  return `TIMESTAMP '${date.toISOString().slice(0, 19).replace("T", " ")}.${fraction}'`;
}

export class DuckdbSink implements Sink {
  readonly name = "duckdb";
  private readonly connection: DuckDBConnection;
  private readonly options: Required<Omit<DuckdbSinkOptions, "onCommit">> & Pick<DuckdbSinkOptions, "onCommit">;
  private readonly idPrefix = randomBytes(6).toString("hex");
  private sequence = 0;
  private lastPublishMicros = 0n;
  private queue: Pending[] = [];
  private pendingEvents = 0;
  private writing: Promise<void> | undefined;
  private closed = false;
  private failing: Error | undefined;

  constructor(connection: DuckDBConnection, options: DuckdbSinkOptions) {
    this.connection = connection;
    this.options = {
      subscriptionName: "sightline-local",
      maxGroupEvents: 50_000,
      maxPendingEvents: 200_000,
      ...options,
    };
  }

  isReady(): boolean {
    return !this.closed && !this.failing;
  }

  write(events: DetectionEvent[], rejections: Rejection[]): Promise<SinkReceipt> {
    if (this.closed) return Promise.reject(new SinkUnavailableError("the service is shutting down"));
    if (this.pendingEvents + events.length > this.options.maxPendingEvents) {
      return Promise.reject(new SinkUnavailableError(`the local sink has ${this.pendingEvents} events waiting to be written; retry shortly`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ events, rejections, resolve, reject });
      this.pendingEvents += events.length;
      this.kick();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing;
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
        const receipts = await this.commit(group);
        this.failing = undefined;
        group.forEach((pending, index) => pending.resolve(receipts[index]!));
      } catch (error) {
        this.failing = error as Error;
        const unavailable = new SinkUnavailableError(`the local sink could not commit: ${(error as Error).message.split("\n")[0]}`);
        group.forEach((pending) => pending.reject(unavailable));
      } finally {
        this.pendingEvents -= size;
      }
    }
  }

  private nextId(): string {
    this.sequence += 1;
    return `${this.idPrefix}-${this.sequence.toString(36)}`;
  }

  private async commit(group: Pending[]): Promise<SinkReceipt[]> {
    const started = performance.now();
    const receipts: SinkReceipt[] = [];
    const events: string[] = [];
    const dead: string[] = [];
    for (const pending of group) {
      const messageIds: string[] = [];
      for (const e of pending.events) {
        const id = this.nextId();
        messageIds.push(id);
        events.push(
          `{"m":"${id}","d":"${e.detection_oid}","c":"${e.video_camera_oid}","l":"${e.geographical_location_oid}","i":${JSON.stringify(e.item_name)},"t":"${e.timestamp_detected}"}`
        );
      }
      for (const r of pending.rejections) {
        dead.push(JSON.stringify({ m: this.nextId(), r: r.reason, x: r.index, a: r.data }));
      }
      receipts.push({ messageIds });
    }
    // publish_time is the commit's time, strictly increasing across commits, like Pub/Sub's.
    const nowMicros = BigInt(Date.now()) * 1000n;
    this.lastPublishMicros = nowMicros > this.lastPublishMicros ? nowMicros : this.lastPublishMicros + 1n;
    const publishTime = sqlTimestamp(this.lastPublishMicros);
    const subscription = `'${this.options.subscriptionName.replace(/'/g, "''")}'`;
    const { rawSchema } = this.options;
    await this.connection.run("begin transaction");
    try {
      if (events.length > 0) {
        await this.connection.run(
          `insert into ${qualifiedName(rawSchema, RAW_EVENTS_TABLE)}
           select ${subscription}, e.m, ${publishTime}, null, e.d, e.c, e.l, e.i, e.t
           from (select unnest(from_json($1::json, ${EVENT_STRUCTURE})) as e)`,
          [`[${events.join(",")}]`]
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
    }
    this.options.onCommit?.(events.length, dead.length, (performance.now() - started) / 1000);
    return receipts;
  }
}
