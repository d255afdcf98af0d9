// Runs the Dataform graph on a fixed cadence, as Dataform's workflow configurations do in production.
// Each run starts `intervalMs` after the previous one started (or at once if the previous one took
// longer), never overlaps another, and is logged in sightline.model_runs. A run that fails, even to
// compile, is reported and retried on the next tick: an analytics engineer's typo must not stop the
// stack, and fixing the SQLX is picked up on the next run without a restart.
import { recordFailure, recordRun } from "./run_log.ts";
import type { RunReport, Transformer } from "./transform.ts";

export interface ScheduleOptions {
  intervalMs: number;
  onRun?: (report: RunReport) => void;
  onError?: (error: Error) => void;
}

export class ModelSchedule {
  private readonly transformer: Transformer;
  private readonly options: ScheduleOptions;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = false;
  private runs = 0;
  private waiters: Array<{ after: number; resolve: (report: RunReport) => void }> = [];

  constructor(transformer: Transformer, options: ScheduleOptions) {
    this.transformer = transformer;
    this.options = options;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Resolves with the first successful run that starts after this call. */
  nextRun(): Promise<RunReport> {
    return new Promise((resolve) => this.waiters.push({ after: this.runs + (this.current ? 1 : 0), resolve }));
  }

  /** Stops scheduling and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = performance.now();
      this.current = this.tick().finally(() => {
        this.current = undefined;
        this.schedule(Math.max(0, this.options.intervalMs - (performance.now() - started)));
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const startedAt = new Date();
    const started = performance.now();
    const connection = this.transformer.db.connection;
    try {
      const report = await this.transformer.run();
      this.runs++;
      await recordRun(connection, report);
      this.options.onRun?.(report);
      if (report.ok) {
        const ready = this.waiters.filter((w) => this.runs > w.after);
        this.waiters = this.waiters.filter((w) => this.runs <= w.after);
        for (const waiter of ready) waiter.resolve(report);
      }
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.runs++;
      await recordFailure(connection, startedAt, performance.now() - started, failure.message).catch(() => undefined);
      this.options.onError?.(failure);
    }
  }
}
