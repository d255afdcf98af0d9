// The whole pipeline on one machine: ingest service (DuckDB sink, or Pub/Sub emulator + a stand-in for
// the BigQuery subscription), the Dataform graph on a schedule, the dashboard on the ingest port, and a
// camera simulator on a thread of its own. One DuckDB instance is shared by all of them in-process:
// a DuckDB file admits one writing process, and sharing avoids copying data between parts.
import { existsSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { createDashboard } from "../dashboard/server.ts";
import { loadConfig } from "../ingest/config.ts";
import { createLogger } from "../ingest/logging.ts";
import { startService, type Service } from "../ingest/service.ts";
import { openDatabase, type Database } from "../runner/database.ts";
import { stageLocations } from "../runner/load.ts";
import { ensureRawTables } from "../runner/raw_tables.ts";
import { ensureRunLog, summarise } from "../runner/run_log.ts";
import { ModelSchedule } from "../runner/schedule.ts";
import { locationsFileFor, rawSchemaOf, Transformer, type RunReport } from "../runner/transform.ts";
import { LOCATION_COUNT, writeLocations } from "../simulate/locations.ts";
import { startSimulatorThread, type SimulatorThread, type SimulatorSettings } from "../simulate/thread.ts";

export interface StackOptions {
  dbPath: string;
  port: number;
  host: string;
  /** Time between the starts of two model runs. */
  intervalMs: number;
  memoryLimit?: string;
  /** Camera simulator settings, or false for none (send your own events). */
  simulate: false | SimulatorSettings;
  /** Production's shape: publish to the Pub/Sub emulator; a subscriber writes the raw table. */
  pubsubEmulator?: boolean;
  /** Level of the ingest service's JSON logs (requests are logged at info). */
  serviceLogLevel?: string;
  /** Human-readable progress lines. */
  say?: (line: string) => void;
}

export interface Stack {
  url: string;
  database: Database;
  schedule: ModelSchedule;
  service: Service;
  simulator?: SimulatorThread;
  /** Stop the simulator, drain the service, finish the model run in progress, close the database. */
  stop(): Promise<void>;
}

/** Dataset B on first start: 10,000 generated locations, staged where the models load it from. */
async function ensureLocations(db: Database, say: (line: string) => void): Promise<void> {
  const destination = locationsFileFor(db.path);
  if (existsSync(destination)) return;
  const generated = path.join(path.dirname(destination), `generated_locations_${LOCATION_COUNT}.parquet`);
  await writeLocations(db.connection, generated, LOCATION_COUNT);
  const count = await stageLocations(db.connection, generated, destination);
  say(`Dataset B: generated ${count.toLocaleString("en")} locations (${destination})`);
}

function describeRun(report: RunReport): string {
  const rows = (name: string) => report.actions.find((a) => a.name.endsWith(`.${name}`))?.rowsChanged ?? 0;
  const { assertionsPassed, assertionsFailed } = summarise(report);
  const failed = report.actions.filter((a) => a.status === "failed").map((a) => a.name.split(".").pop());
  const head = report.ok ? "models ok  " : "models FAIL";
  const counts = `+${rows("detection_events").toLocaleString("en")} detections, +${rows("detection_counts_hourly").toLocaleString("en")} hourly rows`;
  const checkpoint = report.checkpointMs > 0 ? ` (then a checkpoint, ${Math.round(report.checkpointMs)} ms)` : "";
  return `${head} ${String(Math.round(report.durationMs)).padStart(5)} ms${checkpoint}  ${counts}, ${assertionsPassed}/${assertionsPassed + assertionsFailed} assertions${report.compiled ? ", recompiled" : ""}${failed.length ? `; failed: ${failed.join(", ")}` : ""}`;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const say = options.say ?? (() => undefined);
  const db = await openDatabase(options.dbPath, { memoryLimit: options.memoryLimit });
  const stoppers: Array<() => Promise<void>> = [];
  const logger: Logger = createLogger(options.serviceLogLevel ?? "warn");
  try {
    const transformer = new Transformer(db);
    const { graph } = await transformer.graph();
    const rawSchema = rawSchemaOf(graph);
    await ensureRawTables(db.connection, rawSchema);
    await ensureRunLog(db.connection);
    await ensureLocations(db, say);

    let pubsubEnv: Record<string, string> = {};
    if (options.pubsubEmulator) {
      const { startPubsubStack } = await import("./pubsub_setup.ts");
      say("starting the Pub/Sub emulator…");
      // No GCP metadata server here: without this the Google clients probe for one and warn.
      process.env.METADATA_SERVER_DETECTION ??= "none";
      const pubsub = await startPubsubStack({ db, rawSchema });
      stoppers.unshift(() => pubsub.stop());
      pubsubEnv = pubsub.env;
      // The Pub/Sub client finds the emulator through the process environment.
      process.env.PUBSUB_EMULATOR_HOST = pubsub.emulatorHost;
      say(`Pub/Sub emulator at ${pubsub.emulatorHost}: the service publishes to ${pubsubEnv.PUBSUB_TOPIC}, a subscriber writes the raw table`);
    }

    const dashboard = createDashboard({ database: db });
    stoppers.unshift(async () => dashboard.close());
    const config = loadConfig({
      SIGHTLINE_LOCAL: options.pubsubEmulator ? "false" : "true",
      SINK: options.pubsubEmulator ? "pubsub" : "duckdb",
      // Auth stays off on the loopback stack; with the emulator the service is in production mode,
      // so it gets a token of its own that the simulator presents.
      AUTH_TOKENS: options.pubsubEmulator ? LOCAL_TOKEN : "",
      PORT: String(options.port),
      HOST: options.host,
      SIGHTLINE_DB: options.dbPath,
      RAW_DATASET: rawSchema,
      LOG_LEVEL: options.serviceLogLevel ?? "warn",
      ...pubsubEnv,
    });
    const service = await startService(config, { database: db, fallback: dashboard.handler, logger });
    stoppers.unshift(() => service.close());

    const schedule = new ModelSchedule(transformer, {
      intervalMs: options.intervalMs,
      onRun: (report) => say(describeRun(report)),
      onError: (error) => say(`models FAIL  ${error.message}\n  (the stack keeps running; fix the SQLX and save, the next run recompiles)`),
    });
    schedule.start();
    stoppers.unshift(() => schedule.stop());

    let simulator: SimulatorThread | undefined;
    if (options.simulate) {
      simulator = startSimulatorThread({ settings: options.simulate, url: service.url, token: options.pubsubEmulator ? LOCAL_TOKEN : undefined }, say);
      stoppers.unshift(async () => void (await simulator!.stop()));
    }

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        // Front to back: no new events, the service flushes its sink, the run in progress ends.
        for (const stopper of stoppers) await stopper();
        db.close();
      })());
    return { url: service.url, database: db, schedule, service, simulator, stop };
  } catch (error) {
    for (const stopper of stoppers) await stopper().catch(() => undefined);
    db.close();
    throw error;
  }
}

/** The bearer token of the emulator-backed stack (the service runs in production mode there). */
export const LOCAL_TOKEN = "local-stack";
