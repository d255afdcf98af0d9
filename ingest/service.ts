// Assembles the service from its configuration: sink, logger, metrics, HTTP server.
import { createServer, STATUS_CODES, type Server } from "node:http";
import type { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Database } from "../runner/database.ts";
import { createApp, type App, type AppDependencies } from "./app.ts";
import type { IngestConfig } from "./config.ts";
import { createLogger } from "./logging.ts";
import { createMetrics } from "./metrics.ts";
import type { Sink } from "./sinks/sink.ts";

export interface Service {
  server: Server;
  app: App;
  sink: Sink;
  logger: Logger;
  /** The local warehouse the caller shared with the DuckDB sink (ServiceOptions.database), if any. */
  readonly database?: Database;
  /**
   * Rows of a SQL query on the DuckDB sink's database, whichever thread holds it (values in DuckDB's
   * JSON form: BIGINT and TIMESTAMP as strings). Rejects with the Pub/Sub sink.
   */
  query(sql: string): Promise<Record<string, unknown>[]>;
  url: string;
  /** Stop accepting, finish in-flight requests, flush the sink, release the database. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger?: Logger;
  /** An already open local warehouse (the local stack shares one DuckDB file between its parts). */
  database?: Database;
  /** A sink built by the caller instead of the configured one (benchmarks measure the HTTP ceiling). */
  sink?: Sink;
  /** Handles the paths the ingest API does not own (see AppDependencies.fallback). */
  fallback?: AppDependencies["fallback"];
}

export async function startService(config: IngestConfig, options: ServiceOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  let sink: Sink;
  let query: Service["query"] = async () => {
    throw new Error("this service has no local database: its sink is Pub/Sub");
  };
  // Each sink's dependencies load only when it is chosen: the Cloud Run image carries no DuckDB.
  if (options.sink) {
    sink = options.sink;
  } else if (config.sink === "duckdb" && !options.database) {
    // The service's own file: the sink commits on a thread of its own (sinks/duckdb_thread.ts).
    const { DuckdbThreadSink } = await import("./sinks/duckdb_thread.ts");
    const threadSink = await DuckdbThreadSink.start(
      {
        dbPath: config.dbPath,
        memoryLimit: config.duckdbMemoryLimit,
        threads: config.duckdbThreads,
        rawDataset: config.rawDataset,
        reopenEveryRows: config.duckdbReopenEveryRows,
      },
      {
        onCommit: (events) => metrics.sinkBatchEvents.observe(events),
        onCheckpoint: (seconds) => metrics.sinkCheckpointSeconds.observe(seconds),
        onReopen: (seconds) => metrics.sinkReopenSeconds.observe(seconds),
      }
    );
    sink = threadSink;
    query = (sql) => threadSink.query(sql);
  } else if (config.sink === "duckdb" && options.database) {
    // A file the local stack shares between its parts: the sink commits on its connection to that
    // instance, on the event loop (a DuckDB file cannot be handed to another thread: see duckdb_thread.ts).
    const { ensureRawTables } = await import("../runner/raw_tables.ts");
    const { DuckdbSink } = await import("./sinks/duckdb.ts");
    const shared = options.database;
    await ensureRawTables(shared.connection, config.rawDataset);
    sink = new DuckdbSink(await shared.instance.connect(), {
      rawSchema: config.rawDataset,
      onCommit: (events) => metrics.sinkBatchEvents.observe(events),
      onCheckpoint: (seconds) => metrics.sinkCheckpointSeconds.observe(seconds),
    });
    query = async (sql) => {
      // A connection of its own: the shared one may be in the middle of a model run's transaction.
      const connection = await shared.instance.connect();
      try {
        return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
      } finally {
        connection.closeSync();
      }
    };
  } else {
    const { PubsubSink } = await import("./sinks/pubsub.ts");
    sink = new PubsubSink({
      projectId: config.project,
      topic: config.topic,
      deadLetterTopic: config.deadLetterTopic,
      maxInflightBytes: config.maxInflightBytes,
      publishTimeoutMs: config.publishTimeoutMs,
      onPublish: (messages) => metrics.sinkBatchEvents.observe(messages),
    });
  }
  const app = createApp({ config, sink, logger, metrics, fallback: options.fallback });
  const server = createServer(
    {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: Math.min(10_000, config.requestTimeoutMs),
      // Node checks the timeouts on this interval (30 s by default), so it bounds how late a 408 comes.
      connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs),
      maxHeaderSize: 16 * 1024,
    },
    app.handler
  );
  // Requests Node refuses before the app sees them still get a JSON body a camera vendor can act on.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const known: Record<string, [number, string]> = {
      HPE_HEADER_OVERFLOW: [431, "the request headers are over 16 KiB: send fewer or smaller headers"],
      ERR_HTTP_REQUEST_TIMEOUT: [408, `the request did not arrive within ${config.requestTimeoutMs} ms: send the whole body without pauses, then retry`],
    };
    const [status, message] = known[error.code ?? ""] ?? [400, "the request is not valid HTTP/1.1"];
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error: message });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`;
  logger.info({ url, sink: sink.name }, "ingest service listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      app.setDraining(true);
      await new Promise<void>((resolve) => {
        // Keep-alive sockets become idle as their last responses go out: close them as they do,
        // instead of waiting for the keep-alive timeout.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      await sink.close();
      logger.info("ingest service stopped");
    })());
  return {
    server,
    app,
    sink,
    logger,
    database: options.database,
    query,
    url,
    close,
  };
}
