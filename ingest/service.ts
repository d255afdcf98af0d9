// Assembles the service from its configuration: sink, logger, metrics, HTTP server.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { openDatabase, type Database } from "../runner/database.ts";
import { ensureRawTables } from "../runner/raw_tables.ts";
import { createApp, type App } from "./app.ts";
import type { IngestConfig } from "./config.ts";
import { createLogger } from "./logging.ts";
import { createMetrics } from "./metrics.ts";
import { DuckdbSink } from "./sinks/duckdb.ts";
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
}

export async function startService(config: IngestConfig, options: ServiceOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  let database: Database | undefined;
  let sink: Sink;
  if (config.sink === "duckdb") {
    database = options.database ?? (await openDatabase(config.dbPath));
    await ensureRawTables(database.connection, config.rawDataset);
    sink = new DuckdbSink(await database.instance.connect(), {
      rawSchema: config.rawDataset,
      onCommit: (events) => metrics.sinkBatchEvents.observe(events),
    });
  } else {
    throw new Error("the pubsub sink is not built yet: run with SIGHTLINE_LOCAL=true (or SINK=duckdb)");
  }
  const app = createApp({ config, sink, logger, metrics });
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
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await sink.close();
      if (database && !options.database) database.close();
      logger.info("ingest service stopped");
    })());
  return { server, app, sink, logger, database, url, close };
}
