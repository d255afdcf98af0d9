// Who checkpoints what. Left to itself, DuckDB checkpoints a database inside whichever commit leaves
// its write-ahead log above `checkpoint_threshold` (16 MB by default) — a commit of a model run or of
// the ingest sink, which then waits while every table changed since the last checkpoint is compressed
// and written (BENCHMARKS.md, "Where a 24 h run goes": ~350 ms of each incremental run at 24 h). So
// the instance's threshold is only a safety net (SAFETY_NET_CHECKPOINT_THRESHOLD), and each writer checkpoints the
// database it owns between its own transactions, once that database's WAL has grown past its own
// bound: the sink the raw dataset after a commit (the clients of that commit already answered), the
// model runner the warehouse after a run (the run's results already committed and visible).
import { statSync } from "node:fs";
import type { DuckDBConnection } from "@duckdb/node-api";
import { quoteIdentifier } from "./database.ts";

/**
 * The raw dataset's bound. The sink's commits wait while it checkpoints, so the bound sets the p99 of
 * acknowledgements against throughput: at 100,000 events/s, p99 90 – 98 ms at 16 MB (DuckDB's default
 * threshold), 72 – 74 ms at 12 MB, 62 – 68 ms at 10 MB; at full speed 341 – 364 k, 316 – 357 k and
 * 324 – 328 k events/s (BENCHMARKS.md, "The raw dataset's checkpoint bound"). 12 MB keeps both
 * targets with room on a quiet hour.
 */
export const RAW_CHECKPOINT_BYTES = 12 * 1024 * 1024;

/**
 * The warehouse's bound. An incremental run writes 16 – 23 MB of WAL (10 s of events at 10,000/s; 1 h
 * and 24 h of history), so this checkpoints after every 12th run or so. A checkpoint's cost grows with
 * the size of the tables it touches more than with what changed, so fewer, larger ones cost less in all:
 * at 24 h, 122 – 190 ms a run amortised against 408 – 477 ms at 64 MB, the runs between them ~5 %
 * slower (BENCHMARKS.md, "The warehouse's checkpoint bound"). The price is at start-up after a crash:
 * replaying a full 256 MB WAL took 2.0 s.
 */
export const WAREHOUSE_CHECKPOINT_BYTES = 256 * 1024 * 1024;

/** One database's checkpoints, taken by the writer that owns it. */
export class OwnedCheckpoints {
  private readonly database: string;
  private readonly walFile: string | null;
  private readonly everyBytes: number;

  private constructor(database: string, walFile: string | null, everyBytes: number) {
    this.database = database;
    this.walFile = walFile;
    this.everyBytes = everyBytes;
  }

  /**
   * For the database that holds `dataset`: the attached file of that name (the raw dataset), else the
   * instance's default database (the warehouse, or a file made before the raw dataset moved out).
   */
  static async of(connection: DuckDBConnection, everyBytes: number, dataset?: string): Promise<OwnedCheckpoints> {
    const reader = await connection.runAndReadAll(
      `select database_name, path from duckdb_databases()
        where database_name in ($name, current_database())
        order by database_name = $name desc limit 1`,
      { name: dataset ?? "" }
    );
    const row = reader.getRowObjectsJS()[0]!;
    // An in-memory database has no WAL to bound.
    return new OwnedCheckpoints(String(row.database_name), row.path ? `${String(row.path)}.wal` : null, everyBytes);
  }

  /** Bytes in the WAL now (0 when there is none). */
  walBytes(): number {
    if (!this.walFile) return 0;
    try {
      return statSync(this.walFile).size;
    } catch {
      return 0;
    }
  }

  /** Checkpoints when the WAL has passed the bound; the milliseconds it took, or 0 when none was due. */
  async maybe(connection: DuckDBConnection): Promise<number> {
    if (this.walBytes() < this.everyBytes) return 0;
    const started = performance.now();
    await connection.run(`checkpoint ${quoteIdentifier(this.database)}`);
    return performance.now() - started;
  }
}
