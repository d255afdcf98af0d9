// One model run on the local warehouse: compile if the sources changed, then execute the graph.
import { existsSync } from "node:fs";
import path from "node:path";
import { OwnedCheckpoints, WAREHOUSE_CHECKPOINT_BYTES } from "./checkpoints.ts";
import { ProjectCompiler, type Vars } from "./compile.ts";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Database } from "./database.ts";
import { ensureSchemas } from "./database.ts";
import { executeActions, executeTest, type ActionResult, type TestResult } from "./execute.ts";
import { actionsInOrder, selectActions, type CompiledGraph, type Selection } from "./graph.ts";
import { ensureRawTables } from "./raw_tables.ts";

/** Dataset B's local copy lives next to the database, as the Parquet object does in its bucket. */
export function locationsFileFor(dbPath: string): string {
  return path.join(path.dirname(path.resolve(dbPath)), "geographical_locations.parquet");
}

/**
 * The vars of the DuckDB compile. The local sink commits rows within milliseconds of their
 * publish_time, so the late-arrival margin can be seconds instead of production's minutes.
 */
export function localVars(dbPath: string, overrides: Vars = {}): Vars {
  return {
    warehouse: "duckdb",
    locations_uri: locationsFileFor(dbPath),
    late_arrival_seconds: "10",
    ...overrides,
  };
}

export interface RunOptions {
  fullRefresh?: boolean;
  selection?: Selection;
  /** Also run the compiled `type: "test"` unit tests. */
  runTests?: boolean;
  /** Report each table's row count after its action (ExecuteOptions.countRows). */
  countRows?: boolean;
  onAction?: (result: ActionResult) => void;
}

export interface RunReport {
  startedAt: Date;
  /** The run, from start to its last action committed (its results visible). */
  durationMs: number;
  /** The warehouse's checkpoint after the run, when one was due (0 when not): not part of durationMs. */
  checkpointMs: number;
  /** Whether this run compiled the project (first run, or definitions/includes changed). */
  compiled: boolean;
  /** How many actions could run at once (1 on a full refresh, a first run, or after a long run). */
  actionsAtOnce: number;
  actions: ActionResult[];
  tests: TestResult[];
  ok: boolean;
}

export function rawSchemaOf(graph: CompiledGraph): string {
  const raw = graph.projectConfig.vars?.raw_dataset;
  if (!raw) throw new Error("the compiled project has no raw_dataset var");
  return raw;
}

export interface TransformerOptions {
  /** The warehouse's WAL size after a run beyond which the run is followed by a checkpoint. */
  checkpointEveryBytes?: number;
  /** How many actions may run at once, each on a connection of its own (PARALLEL_ACTIONS by default). */
  parallelActions?: number;
  /** Actions run at once only after an incremental run shorter than this (PARALLEL_AFTER_RUNS_UNDER_MS). */
  parallelAfterRunsUnderMs?: number;
}

/**
 * Independent actions at once: after detection_events, the hourly counts, the item counts and the
 * quality figures read it side by side. Measured in BENCHMARKS.md ("Independent actions at once").
 */
export const PARALLEL_ACTIONS = 2;

/**
 * Actions run at once only after an incremental run of this Transformer that took less than this. A
 * run that catches up a backlog (the first after a start or an outage) is a full refresh of the backlog
 * in size: building the 24 h benchmark database, detection_events alone spilled ~40 GB to disk over
 * 4 h of new rows with an 8 GB memory limit. Such runs go one action at a time, as a full refresh does;
 * the next run, if short, runs actions at once again.
 */
export const PARALLEL_AFTER_RUNS_UNDER_MS = 30_000;

export class Transformer {
  readonly db: Database;
  readonly compiler: ProjectCompiler;
  private readonly vars: Vars;
  private readonly checkpointEveryBytes: number;
  private readonly parallelActions: number;
  private readonly parallelAfterRunsUnderMs: number;
  private checkpoints: OwnedCheckpoints | undefined;
  /** How long the last incremental run took (none yet: the next runs one action at a time). */
  private lastRunMs: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** `projectDir`: the Dataform project to compile (this repository by default). */
  constructor(db: Database, vars: Vars = {}, projectDir?: string, options: TransformerOptions = {}) {
    this.db = db;
    this.vars = localVars(db.path, vars);
    this.compiler = new ProjectCompiler(this.vars, projectDir);
    this.checkpointEveryBytes = options.checkpointEveryBytes ?? WAREHOUSE_CHECKPOINT_BYTES;
    this.parallelActions = Math.max(1, options.parallelActions ?? PARALLEL_ACTIONS);
    this.parallelAfterRunsUnderMs = options.parallelAfterRunsUnderMs ?? PARALLEL_AFTER_RUNS_UNDER_MS;
  }

  /**
   * Connections of the database's instance for the actions that run beside the database's own, for one
   * run: closed after it, so none outlives the database (a connection keeps its instance, and the
   * file's lock, alive). Opening one takes well under a millisecond.
   */
  private async extraConnections(): Promise<DuckDBConnection[]> {
    return Promise.all(Array.from({ length: this.parallelActions - 1 }, () => this.db.instance.connect()));
  }

  async graph(): Promise<{ graph: CompiledGraph; compiled: boolean }> {
    return this.compiler.current();
  }

  /** Runs never overlap: a run asked for while one is going waits for it. */
  run(options: RunOptions = {}): Promise<RunReport> {
    const next = this.queue.then(() => this.runNow(options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(options: RunOptions): Promise<RunReport> {
    const startedAt = new Date();
    const started = performance.now();
    const { graph, compiled } = await this.compiler.current();
    const connection = this.db.connection;
    await ensureRawTables(connection, rawSchemaOf(graph));
    const schemas = new Set([...graph.tables, ...graph.operations, ...graph.assertions].map((a) => a.target.schema));
    await ensureSchemas(connection, schemas);

    // Downstream models add up rows by load time: rebuilding an upstream table alone would make them
    // count its rows twice, so a partial full refresh always takes everything downstream along.
    const selection = options.fullRefresh ? { ...options.selection, includeDependents: true } : options.selection ?? {};
    const actions = selectActions(actionsInOrder(graph), selection);
    const locationsFile = this.vars.locations_uri;
    const loadsLocations = actions.some((a) => a.kind === "operation" && a.name.endsWith(".geographical_locations"));
    if (loadsLocations && locationsFile && !existsSync(locationsFile)) {
      throw new Error(`Dataset B is missing: no file at ${locationsFile}. Load it with: sightline load --locations B.parquet`);
    }
    // A full refresh runs one action at a time: each rebuild holds hours of rows in memory, and two at
    // once would pass the memory a 36 M-row refresh is measured in (BENCHMARKS.md). So does a run
    // that catches up a backlog: only one that follows a short run is taken to be short.
    const atOnce = !options.fullRefresh && this.lastRunMs !== undefined && this.lastRunMs < this.parallelAfterRunsUnderMs;
    const extra = atOnce ? await this.extraConnections() : [];
    let results: ActionResult[];
    try {
      results = await executeActions([connection, ...extra], actions, { fullRefresh: options.fullRefresh, countRows: options.countRows, onAction: options.onAction });
    } finally {
      for (const other of extra) other.closeSync();
    }
    const tests: TestResult[] = [];
    if (options.runTests) {
      for (const test of graph.tests) tests.push(await executeTest(connection, test));
    }
    const ok = results.every((r) => r.status === "ok") && tests.every((t) => t.status === "ok");
    const durationMs = performance.now() - started;
    this.lastRunMs = options.fullRefresh ? undefined : durationMs;
    // The run's results are committed and visible: a checkpoint now, when due, is work the next run
    // would otherwise do inside one of its commits (runner/checkpoints.ts). Runs still never overlap it.
    this.checkpoints ??= await OwnedCheckpoints.of(connection, this.checkpointEveryBytes);
    const checkpointMs = await this.checkpoints.maybe(connection);
    return { startedAt, durationMs, checkpointMs, compiled, actionsAtOnce: 1 + extra.length, actions: results, tests, ok };
  }
}
