// The DuckDB sink's own thread (see ./duckdb_thread.ts): opens the service's DuckDB file, commits the
// requests the event loop hands it in groups (DuckdbSink), and answers each once its group committed.
// Here a commit's completion is seen at once, so the next group starts at once; on the event loop it
// waited behind the requests being parsed and validated, and DuckDB sat idle a third of the time.
import { parentPort, workerData } from "node:worker_threads";
import { parseJsonArray, parseNdjson, type BatchSource, type Rejection } from "../batch.ts";
import { openDatabase, type Database } from "../../runner/database.ts";
import { ensureRawTables } from "../../runner/raw_tables.ts";
import { DuckdbSink, serialize } from "./duckdb.ts";
import { SinkUnavailableError } from "./sink.ts";

export interface WriterOptions {
  dbPath: string;
  memoryLimit?: string;
  threads?: number;
  rawDataset: string;
  reopenEveryRows: number;
  /** See DuckdbSinkOptions.linger. */
  linger?: { events: number; ms: number };
}

/** From the event loop: one request's valid events (as a count) and dead letters, or the end. */
export type ToWriter =
  | { type: "write"; id: number; count: number; characters: number; rejections: Rejection[]; source?: BatchSource; validJson?: string }
  | { type: "query"; id: number; sql: string }
  | { type: "close" };

/** To the event loop: a request's outcome, what the metrics observe, and the thread's state. */
export type FromWriter =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "done"; id: number; written: number }
  | { type: "refused"; id: number; message: string; retryAfterSeconds: number; failing: boolean }
  | { type: "commit"; events: number }
  | { type: "checkpoint"; seconds: number }
  | { type: "reopen"; seconds: number }
  | { type: "rows"; id: number; rows: Record<string, unknown>[] }
  | { type: "query-failed"; id: number; message: string };

/** The valid events of a body the validator accepted whole, read again: only if DuckDB read it differently. */
function validJsonOf(source: BatchSource): string {
  const batch = source.format === "array" ? parseJsonArray(source.text) : parseNdjson(source.lines.join("\n"));
  return serialize(batch.events);
}

async function main(port: NonNullable<typeof parentPort>, options: WriterOptions): Promise<void> {
  const post = (message: FromWriter) => port.postMessage(message);
  const open = () => openDatabase(options.dbPath, { memoryLimit: options.memoryLimit, threads: options.threads, rawDataset: options.rawDataset });
  let database: Database | undefined;
  let sink: DuckdbSink;
  try {
    database = await open();
    await ensureRawTables(database.connection, options.rawDataset);
    sink = new DuckdbSink(await database.instance.connect(), {
      rawSchema: options.rawDataset,
      linger: options.linger,
      onCommit: (events) => post({ type: "commit", events }),
      onCheckpoint: (seconds) => post({ type: "checkpoint", seconds }),
      // The file is this thread's own: it starts a fresh instance on it now and then (see DuckdbSink).
      reopen: {
        everyRows: options.reopenEveryRows,
        async open() {
          // Forget the old instance first: if opening fails, the next attempt must not close it twice.
          const old = database;
          database = undefined;
          old?.close();
          database = await open();
          return database.instance.connect();
        },
        observe: (seconds) => post({ type: "reopen", seconds }),
      },
    });
  } catch (error) {
    database?.close();
    post({ type: "failed", message: (error as Error).message });
    port.close();
    return;
  }
  port.on("message", (message: ToWriter) => {
    if (message.type === "close") {
      void sink.close().finally(() => {
        database?.close();
        port.close();
      });
      return;
    }
    if (message.type === "query") {
      // On the database's own connection, beside the sink's: what a caller of Service.query asked.
      const { id, sql } = message;
      if (!database) return post({ type: "query-failed", id, message: "the file is being reopened: ask again" });
      database.connection.runAndReadAll(sql).then(
        (reader) => post({ type: "rows", id, rows: reader.getRowObjectsJson() as Record<string, unknown>[] }),
        (error: Error) => post({ type: "query-failed", id, message: error.message })
      );
      return;
    }
    const { id, count, characters, rejections, source, validJson } = message;
    sink.writeCounted(count, characters, rejections, source, () => validJson ?? validJsonOf(source!)).then(
      (receipt) => post({ type: "done", id, written: receipt.written }),
      (error: Error) =>
        post({
          type: "refused",
          id,
          message: error.message,
          retryAfterSeconds: error instanceof SinkUnavailableError ? error.retryAfterSeconds : 1,
          // A failed commit (not a full queue) makes the sink unready for a moment: so must the event loop's side.
          failing: !sink.isReady(),
        })
    );
  });
  post({ type: "ready" });
}

if (parentPort) await main(parentPort, workerData as WriterOptions);
