// The PostgreSQL peer behind Sightline's own HTTP front (bench only): what a team would build instead
// of the DuckDB sink. Requests are committed in groups like Sightline's, several groups at once over a
// pool (PostgreSQL commits concurrent transactions with one WAL flush), and acknowledged after COMMIT
// with synchronous_commit on. Two ways to write, measured side by side:
//   copy   — COPY … FROM STDIN into a raw table that keeps copies (like the raw table),
//   insert — one INSERT … SELECT FROM unnest(arrays) ON CONFLICT (detection_oid) DO NOTHING into a
//            table with a unique key (copies removed on the way in).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { DetectionEvent } from "../ingest/event.ts";
import type { Rejection } from "../ingest/batch.ts";
import { SinkUnavailableError, type Sink, type SinkReceipt } from "../ingest/sinks/sink.ts";

export type PostgresWrite = "copy" | "insert";

const COLUMNS = "subscription_name, message_id, publish_time, detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected";

export async function createPeerTables(client: pg.ClientBase): Promise<void> {
  await client.query(`
    create table if not exists raw_detection_events (
      subscription_name text not null, message_id text not null, publish_time timestamptz not null, attributes jsonb,
      detection_oid bigint not null, video_camera_oid bigint not null, geographical_location_oid bigint not null,
      item_name text not null, timestamp_detected bigint not null);
    create table if not exists unique_detection_events (like raw_detection_events);
    create unique index if not exists unique_detection_events_oid on unique_detection_events (detection_oid);
    create table if not exists invalid_detection_events (message_id text, publish_time timestamptz, reason text, data text);`);
}

interface Pending {
  events: DetectionEvent[];
  rejections: Rejection[];
  resolve: (receipt: SinkReceipt) => void;
  reject: (error: Error) => void;
}

/** CSV field: quoted, quotes doubled (item names may hold commas, quotes and newlines). */
const csv = (text: string) => `"${text.replaceAll('"', '""')}"`;

export class PostgresSink implements Sink {
  readonly name: string;
  private readonly pool: pg.Pool;
  private readonly mode: PostgresWrite;
  private readonly prefix = randomBytes(4).toString("hex");
  private sequence = 0;
  private queue: Pending[] = [];
  private running = 0;
  private closed = false;
  private readonly connections: number;
  private readonly maxGroupEvents: number;

  constructor(pool: pg.Pool, mode: PostgresWrite, connections = 4, maxGroupEvents = 50_000) {
    this.pool = pool;
    this.mode = mode;
    this.connections = connections;
    this.maxGroupEvents = maxGroupEvents;
    this.name = `postgres-${mode}`;
  }

  isReady(): boolean {
    return !this.closed;
  }

  write(events: DetectionEvent[], rejections: Rejection[]): Promise<SinkReceipt> {
    if (this.closed) return Promise.reject(new SinkUnavailableError("closing"));
    return new Promise((resolve, reject) => {
      this.queue.push({ events, rejections, resolve, reject });
      this.kick();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.running > 0 || this.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.pool.end();
  }

  private kick(): void {
    while (this.running < this.connections && this.queue.length > 0) {
      const group: Pending[] = [];
      let size = 0;
      while (this.queue.length > 0 && (group.length === 0 || size + this.queue[0]!.events.length <= this.maxGroupEvents)) {
        const next = this.queue.shift()!;
        group.push(next);
        size += next.events.length;
      }
      this.running++;
      this.commit(group)
        .then(
          () => group.forEach((p) => p.resolve({ written: p.events.length })),
          (error: Error) => group.forEach((p) => p.reject(new SinkUnavailableError(`postgres: ${error.message}`)))
        )
        .finally(() => {
          this.running--;
          this.kick();
        });
    }
  }

  private async commit(group: Pending[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("begin");
      const events = group.flatMap((p) => p.events);
      const first = this.sequence;
      this.sequence += events.length;
      const ids = events.map((_e, i) => `${this.prefix}-${first + i}`);
      if (this.mode === "copy") {
        const stream = client.query(copyFrom(`copy raw_detection_events (${COLUMNS}) from stdin with (format csv)`));
        const done = new Promise<void>((resolve, reject) => {
          stream.on("finish", resolve);
          stream.on("error", reject);
        });
        const now = new Date().toISOString();
        let chunk = "";
        events.forEach((e, i) => {
          chunk += `local,${ids[i]},${now},${e.detection_oid},${e.video_camera_oid},${e.geographical_location_oid},${csv(e.item_name)},${e.timestamp_detected}\n`;
          if (chunk.length > 1 << 16) {
            stream.write(chunk);
            chunk = "";
          }
        });
        stream.end(chunk);
        await done;
      } else {
        await client.query(
          `insert into unique_detection_events (${COLUMNS})
           select 'local', m, now(), d, c, l, n, t
           from unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[]) as u(m, d, c, l, n, t)
           on conflict (detection_oid) do nothing`,
          [ids, events.map((e) => String(e.detection_oid)), events.map((e) => String(e.video_camera_oid)), events.map((e) => String(e.geographical_location_oid)), events.map((e) => e.item_name), events.map((e) => String(e.timestamp_detected))]
        );
      }
      const dead = group.flatMap((p) => p.rejections);
      if (dead.length > 0) {
        await client.query("insert into invalid_detection_events select m, now(), r, a from unnest($1::text[], $2::text[], $3::text[]) as u(m, r, a)", [
          dead.map((_d, i) => `${this.prefix}-dead-${first}-${i}`),
          dead.map((d) => d.reason),
          dead.map((d) => d.data),
        ]);
      }
      await client.query("commit");
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
