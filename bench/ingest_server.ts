// Child process for bench/ingest.ts: the ingest service with one sink (none = the HTTP + parse +
// validate ceiling; duckdb; pubsub on the emulator; postgres-copy / postgres-insert, the peer, on the
// server PG_PORT names). Prints its URL, then its CPU time on "cpu".
import { createInterface } from "node:readline";
import { loadConfig } from "../ingest/config.ts";
import { createLogger } from "../ingest/logging.ts";
import { startService } from "../ingest/service.ts";
import type { Sink } from "../ingest/sinks/sink.ts";
import { PostgresSink, type PostgresWrite } from "./postgres_sink.ts";

const [kind, dbPath] = process.argv.slice(2);

/** Accepts everything at once: what the service costs without any sink. */
const noSink: Sink = { name: "none", write: async (events) => ({ written: events.length }), isReady: () => true, close: async () => {} };

const env: Record<string, string> =
  kind === "pubsub"
    ? { SINK: "pubsub", GOOGLE_CLOUD_PROJECT: "sightline-bench", AUTH_TOKENS: "bench" }
    : { SIGHTLINE_LOCAL: "true", SIGHTLINE_DB: dbPath ?? "/tmp/sightline-bench-ingest.duckdb" };
const config = loadConfig({ ...env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST, DUCKDB_MEMORY_LIMIT: process.env.DUCKDB_MEMORY_LIMIT });
async function peerSink(mode: PostgresWrite): Promise<Sink> {
  const pg = (await import("pg")).default;
  const connections = 4;
  const pool = new pg.Pool({ host: "127.0.0.1", port: Number(process.env.PG_PORT), user: "bench", database: "postgres", max: connections });
  return new PostgresSink(pool, mode, connections);
}

const sink = kind === "none" ? noSink : kind?.startsWith("postgres-") ? await peerSink(kind.slice("postgres-".length) as PostgresWrite) : undefined;
const service = await startService(config, { logger: createLogger("warn"), sink });
process.stdout.write(`${JSON.stringify({ url: service.url })}\n`);
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "cpu") {
    const usage = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuSeconds: (usage.user + usage.system) / 1e6 })}\n`);
  }
  if (line === "stop") void service.close().then(() => process.exit(0));
});
