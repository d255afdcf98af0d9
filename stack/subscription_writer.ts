// A stand-in for the BigQuery subscription, which the Pub/Sub emulator lacks: it pulls the raw topic's
// subscription and writes one raw-table row per message, with the columns `write_metadata` adds
// (subscription_name, message_id, publish_time, attributes) and the body's fields by name.
// Messages are acknowledged only after their transaction committed: a crash in between makes Pub/Sub
// deliver them again, and the copies are removed by the models (dedup by detection_oid), never lost.
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Message, Subscription } from "@google-cloud/pubsub";
import { OwnedCheckpoints, RAW_CHECKPOINT_BYTES } from "../runner/checkpoints.ts";
import { qualifiedName, sqlString } from "../runner/database.ts";
import { INVALID_EVENTS_TABLE, RAW_EVENTS_TABLE } from "../runner/raw_tables.ts";

export interface WriterOptions {
  rawSchema: string;
  /** Written to subscription_name, as BigQuery writes the subscription's name. */
  subscriptionName: string;
  /** A batch is committed when it holds this many messages, or `maxDelayMs` after its first one. */
  maxMessages?: number;
  maxDelayMs?: number;
  /** Test seams around the commit (crash tests hold the writer here and kill it). */
  beforeCommit?: (messages: number) => Promise<void>;
  afterCommit?: (messages: number) => Promise<void>;
}

export interface WriterStats {
  rows: number;
  invalid: number;
  batches: number;
  failedBatches: number;
  lastCommitAt: Date | null;
}

// The whole batch travels as one JSON parameter; DuckDB parses the bodies itself, so int64 values
// beyond 2^53 stay exact (JSON.parse in JavaScript would round them).
const BATCH_STRUCTURE = `'[{"m": "VARCHAR", "p": "BIGINT", "a": "VARCHAR", "d": "VARCHAR"}]'`;

/** An INT64 column from a JSON integer or decimal string; anything else (1.5, "abc", true) is NULL. */
function int64Field(name: string): string {
  const text = `(body ->> '${name}')`;
  return `case when regexp_full_match(${text}, '-?[0-9]{1,19}') then try_cast(${text} as bigint) end as ${name}`;
}

export class SubscriptionWriter {
  private readonly subscription: Subscription;
  private readonly connection: DuckDBConnection;
  private readonly options: Required<Omit<WriterOptions, "beforeCommit" | "afterCommit">> & Pick<WriterOptions, "beforeCommit" | "afterCommit">;
  private buffer: Message[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private checkpoints: OwnedCheckpoints | undefined;
  private closing = false;
  private readonly counters: WriterStats = { rows: 0, invalid: 0, batches: 0, failedBatches: 0, lastCommitAt: null };
  private readonly onMessage = (message: Message) => this.receive(message);
  private readonly onError = (error: Error) => this.errors.push(error);
  readonly errors: Error[] = [];

  constructor(subscription: Subscription, connection: DuckDBConnection, options: WriterOptions) {
    this.subscription = subscription;
    this.connection = connection;
    this.options = { maxMessages: 5_000, maxDelayMs: 50, ...options };
  }

  start(): void {
    this.subscription.on("message", this.onMessage);
    this.subscription.on("error", this.onError);
  }

  stats(): WriterStats {
    return { ...this.counters };
  }

  /** Stops pulling, commits and acknowledges what was received, closes the subscription. */
  async close(): Promise<void> {
    // Commit and acknowledge what is held while the stream is still open: removing the last message
    // listener makes the client close the subscription and nack everything outstanding, so acks sent
    // after that would be lost and every clean stop would redeliver (as duplicates) what it wrote.
    this.closing = true;
    this.flush();
    await this.writing;
    this.subscription.removeListener("message", this.onMessage);
    // close() flushes the acknowledgements still queued in the client.
    await this.subscription.close();
    this.subscription.removeListener("error", this.onError);
  }

  private receive(message: Message): void {
    // Closing: let Pub/Sub give it to the next subscriber instead of holding it past our last commit.
    if (this.closing) return void message.nack();
    this.buffer.push(message);
    if (this.buffer.length >= this.options.maxMessages) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    // Batches commit one after another on the writer's connection, in arrival order.
    this.writing = this.writing.then(() => this.commit(batch));
  }

  private async commit(batch: Message[]): Promise<void> {
    const payload = JSON.stringify(
      batch.map((m) => ({
        m: m.id,
        // Microseconds, as BigQuery's TIMESTAMP keeps them.
        p: Number(m.publishTime.getFullTime() / 1000n),
        a: JSON.stringify(m.attributes ?? {}),
        d: m.data.toString("utf8"),
      }))
    );
    const { rawSchema, subscriptionName } = this.options;
    const subscription = sqlString(subscriptionName);
    try {
      await this.connection.run("begin transaction");
      await this.connection.run(
        `create or replace temporary table pulled as
         with messages as (select unnest(from_json($1::json, ${BATCH_STRUCTURE})) as e),
         bodies as (select e.m as message_id, make_timestamp(e.p) as publish_time, e.a::json as attributes, e.d as data,
                      case when json_type(try_cast(e.d as json)) = 'OBJECT' then try_cast(e.d as json) end as body
                    from messages)
         select message_id, publish_time, attributes, data,
           ${int64Field("detection_oid")}, ${int64Field("video_camera_oid")}, ${int64Field("geographical_location_oid")},
           case when json_type(body, '$.item_name') = 'VARCHAR' then body ->> 'item_name' end as item_name,
           ${int64Field("timestamp_detected")}
         from bodies`,
        [payload]
      );
      const fits = `detection_oid is not null and video_camera_oid is not null and geographical_location_oid is not null
        and item_name is not null and length(item_name) between 1 and 5000 and timestamp_detected is not null`;
      const written = await this.connection.run(
        `insert into ${qualifiedName(rawSchema, RAW_EVENTS_TABLE)}
         select ${subscription}, message_id, publish_time, attributes,
           detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected
         from pulled where ${fits}`
      );
      // What BigQuery's subscription cannot write goes to its dead-letter topic; here, to the
      // dead-letter table with the reason, so it is seen and counted.
      const invalid = await this.connection.run(
        `insert into ${qualifiedName(rawSchema, INVALID_EVENTS_TABLE)}
         select ${subscription}, message_id, publish_time,
           json_object('reason', 'the message does not fit the raw table''s schema (a missing or mistyped field, or not a JSON object)', 'attributes', attributes),
           data
         from pulled where not coalesce(${fits}, false)`
      );
      await this.options.beforeCommit?.(batch.length);
      await this.connection.run("commit");
      this.counters.rows += written.rowsChanged;
      this.counters.invalid += invalid.rowsChanged;
      this.counters.batches++;
      this.counters.lastCommitAt = new Date();
    } catch (error) {
      await this.connection.run("rollback").catch(() => undefined);
      this.counters.failedBatches++;
      this.errors.push(error as Error);
      // Not written: let Pub/Sub deliver them again rather than wait out the ack deadline.
      for (const message of batch) message.nack();
      return;
    }
    await this.options.afterCommit?.(batch.length);
    for (const message of batch) message.ack();
    // The raw dataset's checkpoint, when due, after the batch is acknowledged (runner/checkpoints.ts).
    try {
      this.checkpoints ??= await OwnedCheckpoints.of(this.connection, RAW_CHECKPOINT_BYTES, this.options.rawSchema);
      await this.checkpoints.maybe(this.connection);
    } catch (error) {
      this.errors.push(error as Error);
    }
  }
}
