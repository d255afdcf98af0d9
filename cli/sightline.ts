#!/usr/bin/env node
// `sightline`: thin commands over the runner, the loaders and the sample data. Parse flags, call, print.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { positiveInteger, positiveNumber, share } from "./flags.ts";
import { openDatabase, type Database } from "../runner/database.ts";
import { loadEvents, stageLocations } from "../runner/load.ts";
import { ensureRawTables } from "../runner/raw_tables.ts";
import { printTopItems, topItemsQuery, writeTopItems, type TopFormat } from "../runner/top.ts";
import { localVars, locationsFileFor, rawSchemaOf, Transformer, type RunReport } from "../runner/transform.ts";
import { writeSampleDatasets } from "../simulate/sample_datasets.ts";
import { DEFAULT_DB, processEnvironment, readEnvironment } from "./environment.ts";
import { ConfigError, loadConfig } from "../ingest/config.ts";
import { startService } from "../ingest/service.ts";
import { actionLine, failureLines, summaryLine } from "./report.ts";
import { simulateCommand } from "./simulate_command.ts";

const environment = readEnvironment();

const list = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);

/** This clone's `origin` remote, the default repository Dataform compiles from. */
function originUrl(): string | undefined {
  try {
    return execFileSync("git", ["remote", "get-url", "origin"], { cwd: import.meta.dirname, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function dbOption() {
  return new Option("--db <path>", "DuckDB file of the local warehouse (env SIGHTLINE_DB)").default(environment.SIGHTLINE_DB ?? DEFAULT_DB);
}

function memoryOption() {
  return new Option("--memory-limit <size>", "DuckDB memory limit (env SIGHTLINE_MEMORY_LIMIT)").default(environment.SIGHTLINE_MEMORY_LIMIT ?? "3GB");
}

async function withDatabase<T>(file: string, memoryLimit: string, work: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(file, { memoryLimit });
  try {
    return await work(db);
  } finally {
    db.close();
  }
}

function printRun(report: RunReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
  } else {
    console.log(summaryLine(report));
  }
  for (const line of failureLines(report)) console.error(line);
  if (!report.ok) process.exitCode = 1;
}

const program = new Command()
  .name("sightline")
  .description("Sightline: camera detection events, deduplicated and enriched, on BigQuery or on one machine.")
  .showHelpAfterError();

program
  .command("transform")
  .description("Run the Dataform graph once on the local DuckDB warehouse (incremental unless --full-refresh).")
  .addOption(dbOption())
  .addOption(memoryOption())
  .option("--full-refresh", "rebuild incremental tables from the raw table", false)
  .option("--actions <names>", "only these actions (comma-separated, e.g. detection_events,top_items_by_location)", list)
  .option("--tags <tags>", "only actions with these tags (comma-separated)", list)
  .option("--include-deps", "with --actions/--tags, also run what they depend on", false)
  .option("--no-assertions", "skip assertions")
  .option("--tests", "also run the Dataform unit tests (type: \"test\")", false)
  .option("--json", "print the run report as JSON", false)
  .action(async (options) => {
    await withDatabase(options.db, options.memoryLimit, async (db) => {
      const transformer = new Transformer(db);
      const report = await transformer.run({
        fullRefresh: options.fullRefresh,
        runTests: options.tests,
        countRows: true,
        selection: { actions: options.actions, tags: options.tags, includeDependencies: options.includeDeps, includeAssertions: options.assertions },
        onAction: options.json ? undefined : (result) => console.log(actionLine(result)),
      });
      printRun(report, options.json);
    });
  });

program
  .command("load")
  .description("Load Dataset A (detection events) and/or Dataset B (locations) from Parquet into the local warehouse.")
  .addOption(dbOption())
  .addOption(memoryOption())
  .option("--events <file>", "Dataset A Parquet: detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected")
  .option("--locations <file>", "Dataset B Parquet: geographical_location_oid, geographical_location")
  .action(async (options) => {
    if (!options.events && !options.locations) throw new InvalidArgumentError("give --events, --locations or both");
    await withDatabase(options.db, options.memoryLimit, async (db) => {
      const transformer = new Transformer(db);
      const { graph } = await transformer.graph();
      await ensureRawTables(db.connection, rawSchemaOf(graph));
      if (options.locations) {
        const count = await stageLocations(db.connection, path.resolve(options.locations), locationsFileFor(options.db));
        const report = await transformer.run({ selection: { actions: ["geographical_locations"], includeAssertions: false } });
        if (!report.ok) return printRun(report, false);
        console.log(`Dataset B: ${count} locations loaded from ${options.locations}`);
      }
      if (options.events) {
        const result = await loadEvents(db.connection, path.resolve(options.events), rawSchemaOf(graph));
        console.log(`Dataset A: ${result.accepted} events loaded from ${options.events} (publish_time ${result.publishTime.toISOString()})${result.rejected ? `, ${result.rejected} rejected to the dead-letter table with their reasons` : ""}`);
      }
      console.log("Run `sightline transform` to update the models.");
    });
  });

program
  .command("top")
  .description("Top X items detected per location, from the models (runs the models it needs first).")
  .addOption(dbOption())
  .addOption(memoryOption())
  .requiredOption("--x <n>", "how many items per location", positiveInteger)
  .addOption(new Option("--format <format>", "output format").choices(["csv", "json", "parquet"]).default("csv"))
  .option("--output <file>", "write to this file instead of standard output (required for parquet)")
  .option("--no-refresh", "read the models as they are, without running them first")
  .action(async (options) => {
    const format = options.format as TopFormat;
    if (format === "parquet" && !options.output) throw new InvalidArgumentError("--format parquet needs --output <file>");
    await withDatabase(options.db, options.memoryLimit, async (db) => {
      if (options.refresh) {
        const report = await new Transformer(db).run({ selection: { actions: ["top_items_by_location"], includeDependencies: true, includeAssertions: false } });
        if (!report.ok) return printRun(report, false);
      }
      const query = await topItemsQuery(localVars(options.db), options.x);
      if (options.output) {
        const rows = await writeTopItems(db.connection, query, format, path.resolve(options.output));
        console.error(`${rows} rows written to ${options.output}`);
      } else {
        await printTopItems(db.connection, query, format as "csv" | "json", process.stdout);
      }
    });
  });

program
  .command("serve")
  .description("Run the ingest service (POST /v1/detections). Local mode by default: the DuckDB sink, auth off unless AUTH_TOKENS is set.")
  .addOption(dbOption())
  .option("--port <port>", "port to listen on (0 = any free port)", "8080")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .action(async (options) => {
    let config;
    try {
      config = loadConfig({ ...processEnvironment(), SIGHTLINE_LOCAL: "true", PORT: options.port, HOST: options.host, SIGHTLINE_DB: options.db });
    } catch (error) {
      if (error instanceof ConfigError) throw new Error(error.message);
      throw error;
    }
    const service = await startService(config);
    const stop = () => {
      service.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });

program
  .command("up")
  .description("The whole pipeline on this machine: ingest service, models every few seconds, camera simulator and the dashboard.")
  .addOption(dbOption())
  .addOption(memoryOption())
  .option("--port <port>", "port of the dashboard and the ingest API", "8080")
  .option("--host <host>", "address to listen on (loopback by default: the stack has no auth)", "127.0.0.1")
  .option("--every <seconds>", "seconds between model runs", positiveNumber, 5)
  .option("--rate <events>", "simulated detections per second", positiveInteger, 10_000)
  .option("--no-simulate", "no camera simulator: send your own events to POST /v1/detections")
  .option("--pubsub-emulator", "production's shape: publish to the Pub/Sub emulator, a subscriber writes the raw table", false)
  .option("--seed <n>", "simulator seed", positiveInteger, 1)
  .option("--log-level <level>", "ingest service log level (JSON lines)", "warn")
  .action(async (options) => {
    const { LOCAL_TOKEN, startStack } = await import("../stack/up.ts");
    const say = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)}  ${line}`);
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--port ${options.port}: expected 0-65535`);
    say(`starting Sightline on ${options.db}${options.pubsubEmulator ? " with the Pub/Sub emulator" : ""}…`);
    const stack = await startStack({
      dbPath: options.db,
      memoryLimit: options.memoryLimit,
      port,
      host: options.host,
      intervalMs: options.every * 1000,
      simulate: options.simulate ? { rate: options.rate, seed: options.seed } : false,
      pubsubEmulator: options.pubsubEmulator,
      serviceLogLevel: options.logLevel,
      say,
    }).catch((error: Error & { code?: string }) => {
      // The two ways a second `npm start` fails: say what to do instead of DuckDB's or libuv's words.
      if (error.code === "EADDRINUSE") throw new Error(`port ${port} is in use (another sightline up?): stop it or pass --port`);
      if (/Could not set lock on file/.test(error.message)) throw new Error(`${options.db} is in use by another process (another sightline up?): stop it or pass --db. ${error.message}`);
      throw error;
    });
    say(`dashboard  ${stack.url}/`);
    say(`ingest     POST ${stack.url}/v1/detections${options.simulate ? ` (simulator sending ${options.rate.toLocaleString("en")} events/s)` : ""}`);
    // With the emulator the service runs in production mode, auth on: say which token it takes.
    if (options.pubsubEmulator) say(`           with Authorization: Bearer ${LOCAL_TOKEN}`);
    say("Ctrl-C stops everything; a restart carries on with the same database.");
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      say("stopping…");
      stack.stop().then(
        () => {
          say("stopped");
          process.exit(0);
        },
        (error: Error) => {
          console.error(`sightline: ${error.message}`);
          process.exit(1);
        }
      );
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });

program.addCommand(simulateCommand());

program
  .command("deploy")
  .description(
    "Plan and apply production on GCP, idempotently: read what exists, create or update only what differs. Service accounts and grants, BigQuery datasets and raw table, Pub/Sub topics and subscriptions, the Dataset B bucket, the tokens' secret, Dataform's repository, release and workflow configurations, log-based metrics and alert policies; prints the gcloud command that deploys the ingest service to Cloud Run."
  )
  .requiredOption("--project <id>", "Google Cloud project")
  .requiredOption("--region <region>", "region of the datasets, bucket, Dataform repository and Cloud Run service (e.g. europe-west1)")
  .option("--bucket <name>", "bucket for Dataset B (default: <project>-sightline)")
  .option("--locations <file.parquet>", "Dataset B to upload (only when its bytes differ from the bucket's copy)")
  .option("--git-url <url>", "Git remote Dataform compiles main from (default: this clone's origin)")
  .option("--git-token-secret <version>", "Secret Manager secret version with a token for the Git remote (projects/P/secrets/S/versions/V)")
  .option("--notification-channel <name...>", "notification channels the alert policies notify (projects/P/notificationChannels/N)")
  .option("--dry-run", "print the plan and change nothing", false)
  .action(async (options) => {
    const { deployPlan } = await import("../deploy/deploy.ts");
    const gitUrl = options.gitUrl ?? originUrl();
    if (!gitUrl) throw new Error("no Git remote for Dataform to compile from: pass --git-url (this clone has no origin)");
    if (options.locations && !existsSync(options.locations)) throw new Error(`--locations: no file ${options.locations}`);
    const deployment = await deployPlan({
      project: options.project,
      region: options.region,
      bucket: options.bucket,
      locationsFile: options.locations,
      gitUrl,
      gitTokenSecretVersion: options.gitTokenSecret,
      notificationChannels: options.notificationChannel,
    });
    try {
      for (const line of deployment.describe()) console.log(line);
      if (options.dryRun) return console.log("dry run: nothing changed");
      await deployment.apply();
      console.log("applied");
    } finally {
      await deployment.close();
    }
  });

program
  .command("dashboard-url")
  .description("Print a Looker Studio Linking API URL that creates the report on the BigQuery models (see docs/looker-studio.md).")
  .requiredOption("--project <id>", "Google Cloud project holding the models")
  .option("--dataset <id>", "dataset of the models", "detections")
  .option("--billing-project <id>", "project billed for the report's queries (default: --project)")
  .option("--template <reportId>", "a template report whose data sources are named realtime, hourly, top, quality")
  .option("--name <name>", "name of the new report")
  .action(async (options) => {
    const { reportLink } = await import("../deploy/looker_studio.ts");
    console.log(reportLink({ project: options.project, dataset: options.dataset, billingProject: options.billingProject, templateReportId: options.template, reportName: options.name }));
  });

program
  .command("sample")
  .description("Write small sample Dataset A and Dataset B Parquet files to try Sightline with.")
  .option("--out <dir>", "folder for detections.parquet and locations.parquet", "./data/sample")
  .option("--events <n>", "detections", positiveInteger, 200_000)
  .option("--locations <n>", "locations", positiveInteger, 500)
  .option("--duplicate-rate <r>", "share of events sent twice", share, 0.03)
  .option("--seed <n>", "random seed", positiveInteger, 42)
  .action(async (options) => {
    await withDatabase(":memory:", "1GB", async (db) => {
      const files = await writeSampleDatasets(db.connection, options.out, {
        events: options.events,
        locations: options.locations,
        duplicateRate: options.duplicateRate,
        seed: options.seed,
      });
      console.log(`wrote ${files.events} and ${files.locations}`);
    });
  });

program
  .command("demo")
  .description("First run: write sample data, load it, run the models and print the top 3 items of the first locations.")
  .addOption(dbOption())
  .addOption(memoryOption())
  .action(async (options) => {
    const dir = path.join(path.dirname(path.resolve(options.db)), "sample");
    await withDatabase(options.db, options.memoryLimit, async (db) => {
      const files = await writeSampleDatasets(db.connection, dir, { events: 200_000, locations: 500, duplicateRate: 0.03, seed: 42 });
      const transformer = new Transformer(db);
      const { graph } = await transformer.graph();
      await ensureRawTables(db.connection, rawSchemaOf(graph));
      await stageLocations(db.connection, files.locations, locationsFileFor(options.db));
      const loaded = await loadEvents(db.connection, files.events, rawSchemaOf(graph));
      console.log(`loaded ${loaded.accepted} sample events into ${options.db}`);
      const report = await transformer.run({ runTests: true, countRows: true, onAction: (result) => console.log(actionLine(result)) });
      printRun(report, false);
      if (!report.ok) return;
      const top = await db.connection.runAndReadAll(
        "select geographical_location, item_rank, item_name, item_count from detections.top_items_by_location where item_rank <= 3 order by geographical_location_oid, item_rank limit 9"
      );
      console.log("\ntop items, first locations:");
      console.table(top.getRowObjectsJS().map((r) => ({ ...r, item_rank: Number(r.item_rank), item_count: Number(r.item_count) })));
      console.log("Next: `npm run sightline -- top --x 10`, or edit definitions/ and run `npm run sightline -- transform`.");
    });
  });

program.parseAsync().catch((error: Error) => {
  // A reader that stops early (`sightline top | head`) is not an error.
  if (/broken pipe|EPIPE/i.test(error.message)) return;
  console.error(`sightline: ${error.message}`);
  process.exitCode = process.exitCode || 2;
});
