// The DuckDB sink where the service owns its file: DuckdbSink on a thread of its own (./duckdb_writer.ts).
// The event loop only parses, validates and answers; it hands each request's body over (one copy of
// its text) and resolves the request when the writer says its group committed. Nothing is acknowledged
// before that, so a kill -9 loses nothing acknowledged, as with the sink on the event loop.
// The thread opens the file itself: a DuckDB instance cannot be handed to another thread (in a worker,
// DuckDBInstance.fromCache opens a second instance on the same file, which would corrupt it), so the
// local stack, whose parts share one instance, keeps DuckdbSink on the event loop.
import { Worker } from "node:worker_threads";
import type { BatchSource, Rejection } from "../batch.ts";
import type { DetectionEvent } from "../event.ts";
import { characters, FAILURE_BACKOFF_MS, serialize } from "./duckdb.ts";
import type { FromWriter, ToWriter, WriterOptions } from "./duckdb_writer.ts";
import { SinkUnavailableError, type Sink, type SinkReceipt } from "./sink.ts";

export interface DuckdbThreadObservers {
  onCommit?: (events: number) => void;
  onCheckpoint?: (seconds: number) => void;
  onReopen?: (seconds: number) => void;
}

interface Waiting {
  resolve: (receipt: SinkReceipt) => void;
  reject: (error: Error) => void;
}

const WRITER = new URL("./duckdb_writer.ts", import.meta.url);

/**
 * How long a group may fill after the last commit (DuckdbSinkOptions.linger). On this thread a commit
 * starts the moment the last one ended, so without it groups were a third smaller and each event cost
 * more (BENCHMARKS.md, "Session 21": 223 k events/s from 16 connections without, 262 - 301 k with).
 */
export const GROUP_LINGER = { events: 8_000, ms: 2 };

export class DuckdbThreadSink implements Sink {
  readonly name = "duckdb";
  private readonly worker: Worker;
  private readonly observers: DuckdbThreadObservers;
  private readonly waiting = new Map<number, Waiting>();
  private readonly queries = new Map<number, { resolve: (rows: Record<string, unknown>[]) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private closing: Promise<void> | undefined;
  private stopped: Error | undefined;
  private failedAt: number | undefined;

  private constructor(worker: Worker, observers: DuckdbThreadObservers) {
    this.worker = worker;
    this.observers = observers;
    worker.on("message", (message: FromWriter) => this.receive(message));
    worker.on("error", (error) => this.stop(error));
    worker.on("exit", (code) => this.stop(new Error(`the writer thread exited (code ${code})`)));
  }

  /** Starts the writer thread; resolves once it opened the file, or rejects with why it could not. */
  static async start(options: WriterOptions, observers: DuckdbThreadObservers = {}): Promise<DuckdbThreadSink> {
    const worker = new Worker(WRITER, { workerData: { linger: GROUP_LINGER, ...options } satisfies WriterOptions });
    const first = await new Promise<FromWriter>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      // A thread that ends before its first word (it failed to load) would otherwise leave start-up waiting.
      worker.once("exit", (code) => reject(new Error(`the writer thread exited (code ${code}) before it opened the file`)));
    });
    if (first.type !== "ready") {
      await worker.terminate();
      throw new Error(first.type === "failed" ? first.message : `the writer thread said ${first.type} before it was ready`);
    }
    return new DuckdbThreadSink(worker, observers);
  }

  write(events: DetectionEvent[], rejections: Rejection[], source?: BatchSource): Promise<SinkReceipt> {
    if (this.closing || this.stopped) return Promise.reject(new SinkUnavailableError("the service is shutting down"));
    const id = ++this.nextId;
    // A body the validator accepted whole goes over as it came; otherwise the valid events, as JSON.
    const asIs = rejections.length === 0 && source !== undefined;
    const message: ToWriter = {
      type: "write",
      id,
      count: events.length,
      characters: characters(events, source),
      rejections,
      ...(asIs ? { source } : { validJson: serialize(events) }),
    };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(message);
    });
  }

  /** Rows of a query on the writer's database (values as DuckDB's JSON form gives them). */
  query(sql: string): Promise<Record<string, unknown>[]> {
    if (this.stopped) return Promise.reject(new Error(`the local sink stopped: ${this.stopped.message}`));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.queries.set(id, { resolve, reject });
      this.worker.postMessage({ type: "query", id, sql } satisfies ToWriter);
    });
  }

  isReady(): boolean {
    if (this.closing || this.stopped) return false;
    return this.failedAt === undefined || performance.now() - this.failedAt > FAILURE_BACKOFF_MS;
  }

  /** Commits what was handed over, closes the file, and ends the thread. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      this.worker.once("exit", () => resolve());
      this.worker.postMessage({ type: "close" } satisfies ToWriter);
    });
    return this.closing;
  }

  private receive(message: FromWriter): void {
    switch (message.type) {
      case "done": {
        this.failedAt = undefined;
        this.take(message.id)?.resolve({ written: message.written });
        break;
      }
      case "refused": {
        if (message.failing) this.failedAt = performance.now();
        this.take(message.id)?.reject(new SinkUnavailableError(message.message, message.retryAfterSeconds));
        break;
      }
      case "rows":
        this.queries.get(message.id)?.resolve(message.rows);
        this.queries.delete(message.id);
        break;
      case "query-failed":
        this.queries.get(message.id)?.reject(new Error(message.message));
        this.queries.delete(message.id);
        break;
      case "commit":
        this.observers.onCommit?.(message.events);
        break;
      case "checkpoint":
        this.observers.onCheckpoint?.(message.seconds);
        break;
      case "reopen":
        this.observers.onReopen?.(message.seconds);
        break;
      default:
        break;
    }
  }

  private take(id: number): Waiting | undefined {
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    return waiting;
  }

  /** The thread is gone: nothing it held was acknowledged, and nothing more can be. */
  private stop(error: Error): void {
    this.stopped ??= error;
    const unavailable = new SinkUnavailableError(`the local sink stopped: ${error.message}`);
    for (const waiting of this.waiting.values()) waiting.reject(unavailable);
    this.waiting.clear();
    for (const query of this.queries.values()) query.reject(unavailable);
    this.queries.clear();
  }
}
