// Assembles the service from its configuration: sink, logger, metrics, HTTP server.
import { createServer, type Server } from "node:http";
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
  /** The local warehouse, with the DuckDB sink. */
  database?: Database;
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
  let database: Database | undefined;
  let sink: Sink;
  // Each sink's dependencies load only when it is chosen: the Cloud Run image carries no DuckDB.
  if (options.sink) {
    sink = options.sink;
  } else if (config.sink === "duckdb") {
    const { openDatabase } = await import("../runner/database.ts");
    const { ensureRawTables } = await import("../runner/raw_tables.ts");
    const { DuckdbSink } = await import("./sinks/duckdb.ts");
    database = options.database ?? (await openDatabase(config.dbPath));
    await ensureRawTables(database.connection, config.rawDataset);
    sink = new DuckdbSink(await database.instance.connect(), {
      rawSchema: config.rawDataset,
      onCommit: (events) => metrics.sinkBatchEvents.observe(events),
    });
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
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, app.handler);
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
      if (database && !options.database) database.close();
      logger.info("ingest service stopped");
    })());
  return { server, app, sink, logger, database, url, close };
}
