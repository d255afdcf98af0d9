// The service's configuration: the environment, checked once at start-up. Every bad variable is
// reported at once; nothing else in ingest/ reads process.env.
import { z } from "zod";

const boolean = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const positiveInt = z.coerce.number().int().positive();

const schema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    HOST: z.string().min(1).default("0.0.0.0"),
    /** Local mode: the DuckDB sink, and auth off unless tokens are given. */
    SIGHTLINE_LOCAL: boolean.default(false),
    SINK: z.enum(["duckdb", "pubsub"]).default("pubsub"),
    SIGHTLINE_DB: z.string().min(1).default("./data/sightline.duckdb"),
    /**
     * DuckDB's memory limit when the service opens the file itself. The runner's 3GB default is for
     * the models; the sink needs room for one commit group's reading (32 MB of JSON at most).
     */
    DUCKDB_MEMORY_LIMIT: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, "a size such as 256MB").default("256MB"),
    /**
     * Rows after which the DuckDB sink reopens the file it owns (20 - 110 ms; commits wait). DuckDB
     * keeps the blocks it wrote cached (~10 MB per million rows, up to the memory limit) and metadata
     * for every row group the process appended, which no limit evicts (~2.6 MB per million rows: at
     * 64MB every commit failed after ~10 M rows); reopening drops both (RELIABILITY.md, "Soak").
     */
    DUCKDB_REOPEN_EVERY_ROWS: positiveInt.default(2_000_000),
    /**
     * DuckDB's threads in the service's own database (not in the local stack, which shares the models'
     * instance). One leaves the other core to the event loop: on 2 cores the DuckDB path went from ~280 k
     * to ~310 k events/s (20 % more per CPU-second), its p99 at 100,000 events/s from ~85 to ~96 ms
     * (BENCHMARKS.md, "DuckDB threads of the service").
     */
    DUCKDB_THREADS: positiveInt.default(1),
    RAW_DATASET: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a dataset name").default("detections_raw"),
    /** Comma-separated bearer tokens that cameras may present. */
    AUTH_TOKENS: z.string().default(""),
    MAX_BODY_BYTES: positiveInt.default(8 * 1024 * 1024),
    /** Request bodies being processed at once, in bytes, before new requests get 503. */
    MAX_INFLIGHT_BYTES: positiveInt.default(256 * 1024 * 1024),
    /**
     * New requests get 503 while the event loop's mean delay over the last quarter second exceeds this:
     * then the loop itself is the bottleneck and requests queue in the kernel, unseen by
     * MAX_INFLIGHT_BYTES (RELIABILITY.md, "Overload").
     */
    MAX_EVENT_LOOP_DELAY_MS: positiveInt.default(100),
    LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    GOOGLE_CLOUD_PROJECT: z.string().default(""),
    PUBSUB_TOPIC: z.string().min(1).default("raw-detections"),
    PUBSUB_DEAD_LETTER_TOPIC: z.string().min(1).default("ingest-dead-letters"),
    PUBLISH_TIMEOUT_MS: positiveInt.default(5_000),
    /** A request whose body has not fully arrived by then gets 408 (slow clients hold no resources). */
    REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  })
  .transform((env) => ({
    port: env.PORT,
    host: env.HOST,
    local: env.SIGHTLINE_LOCAL,
    sink: env.SIGHTLINE_LOCAL ? ("duckdb" as const) : env.SINK,
    dbPath: env.SIGHTLINE_DB,
    duckdbMemoryLimit: env.DUCKDB_MEMORY_LIMIT,
    duckdbReopenEveryRows: env.DUCKDB_REOPEN_EVERY_ROWS,
    duckdbThreads: env.DUCKDB_THREADS,
    rawDataset: env.RAW_DATASET,
    authTokens: env.AUTH_TOKENS.split(",").map((t) => t.trim()).filter(Boolean),
    maxBodyBytes: env.MAX_BODY_BYTES,
    maxInflightBytes: env.MAX_INFLIGHT_BYTES,
    maxEventLoopDelayMs: env.MAX_EVENT_LOOP_DELAY_MS,
    logLevel: env.LOG_LEVEL,
    project: env.GOOGLE_CLOUD_PROJECT,
    topic: env.PUBSUB_TOPIC,
    deadLetterTopic: env.PUBSUB_DEAD_LETTER_TOPIC,
    publishTimeoutMs: env.PUBLISH_TIMEOUT_MS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
  }))
  .refine((config) => config.sink !== "pubsub" || config.project.length > 0, {
    message: "GOOGLE_CLOUD_PROJECT is required with the pubsub sink",
    path: ["GOOGLE_CLOUD_PROJECT"],
  })
  .refine((config) => config.local || config.authTokens.length > 0, {
    message: "AUTH_TOKENS is required outside local mode (SIGHTLINE_LOCAL=true): cameras authenticate with a bearer token",
    path: ["AUTH_TOKENS"],
  });

export type IngestConfig = Readonly<z.output<typeof schema>>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined>): IngestConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".") || "environment"}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  return Object.freeze(parsed.data);
}
