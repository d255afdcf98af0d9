// A stand-in for the BigQuery subscription, which the Pub/Sub emulator lacks: it streaming-pulls the raw
// topic's subscription and writes one raw-table row per message, with the columns `write_metadata` adds
// (subscription_name, message_id, publish_time, attributes) and the body's fields by name, unknown
// fields dropped. Messages are acknowledged only after their transaction committed: a crash in between
// makes Pub/Sub deliver them again, and the copies are removed by the models (dedup by detection_oid),
// never lost. Never the other way round: an ack before the commit would turn a crash into a gap.
import type { DuckDBConnection } from "@duckdb/node-api";
import { Duration, type Message, type Subscription } from "@google-cloud/pubsub";
import { qualifiedName, sqlString } from "../runner/database.ts";
import { INVALID_EVENTS_TABLE, RAW_EVENTS_TABLE } from "../runner/raw_tables.ts";

export interface WriterOptions {
  /** The raw dataset's schema in the local warehouse. */
  rawSchema?: string;
  /** Written to subscription_name, as BigQuery writes the subscription's name; the handle's full name by default. */
  subscriptionName?: string;
  /** A batch is committed when it holds this many messages, or `maxDelayMs` after its first one. */
  maxMessages?: number;
  maxDelayMs?: number;
  /**
   * Flow control: messages received and not yet acknowledged, beyond which the client stops pulling
   * (and the server stops sending). Bounds the memory a stalled database can make the writer hold.
   */
  maxOutstandingMessages?: number;
  maxOutstandingBytes?: number;
  /**
   * The longest lease the client asks for per extension. Leases start at 10 s (the least a streaming
   * pull accepts) and grow with observed commit times up to this; after a crash, unacknowledged
   * messages come back once their current lease runs out.
   */
  maxAckDeadlineSeconds?: number;
  /** Stream errors and failed commits (the writer keeps going; failed batches are redelivered). */
  onError?: (error: Error) => void;
  /** Test seams around the commit (crash tests hold the writer here and kill it). */
  beforeCommit?: (messages: number) => Promise<void>;
  afterCommit?: (messages: number) => Promise<void>;
}

export interface WriterStats {
  /** Messages taken from the subscription so far. */
  received: number;
  /** Raw-table rows committed. */
  rows: number;
  /** Messages that did not fit the table, committed to the invalid-events table. */
  invalid: number;
  /** Committed transactions. */
  batches: number;
  /** Transactions rolled back (their messages were handed back to Pub/Sub for redelivery). */
  failedBatches: number;
  /** Received, not yet committed and acknowledged. */
  pending: number;
  lastCommitAt: Date | null;
  lastError: string | null;
}

// The whole batch travels as one JSON parameter and DuckDB parses the bodies itself, so int64 values
// beyond 2^53 stay exact (JSON.parse in JavaScript would round them) and the event loop does little
// per message.
const BATCH_STRUCTURE = `'[{"m": "VARCHAR", "p": "BIGINT", "a": "VARCHAR", "d": "VARCHAR"}]'`;
const INT64_FIELDS = ["detection_oid", "video_camera_oid", "geographical_location_oid", "timestamp_detected"] as const;
/** The raw table's item_name is STRING(5000), Dataset A's varchar(5000). */
const ITEM_NAME_MAX = 5000;

/**
 * An INT64 column from a JSON integer or a decimal string (BigQuery's JSON conversion accepts both),
 * exactly; anything else (1.5, 1e3, "abc", true, out of range) is NULL.
 */
function int64Column(name: string): string {
  const text = `(body ->> '${name}')`;
  return `case when json_type(body, '$.${name}') in ('UBIGINT', 'BIGINT', 'VARCHAR') and regexp_full_match(${text}, '-?[0-9]{1,19}')
    then try_cast(${text} as bigint) end as ${name}`;
}

/** Why a field does not fit, or NULL when it does. */
function fieldProblem(name: string, column: string): string {
  return `case when ${column} is null then '${name}: ' ||
    case when coalesce(json_type(body, '$.${name}'), 'NULL') = 'NULL' then 'missing' else 'not an INT64 (a JSON integer or decimal string)' end end`;
}

const PROBLEM = `case when body is null then 'the body is not a JSON object'
  else nullif(concat_ws('; ',
    ${INT64_FIELDS.map((f) => fieldProblem(f, f)).join(",\n    ")},
    case when item_name is null then 'item_name: ' || case when coalesce(json_type(body, '$.item_name'), 'NULL') = 'NULL' then 'missing' else 'not a string' end
         when length(item_name) > ${ITEM_NAME_MAX} then 'item_name: longer than ${ITEM_NAME_MAX} characters' end
  ), '') end`;

const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 30_000;

export class SubscriptionWriter {
  private readonly subscription: Subscription;
  private readonly connection: DuckDBConnection;
  private readonly options: Required<Pick<WriterOptions, "rawSchema" | "subscriptionName" | "maxMessages" | "maxDelayMs">> & WriterOptions;
  private buffer: Message[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Batches commit one after another on the writer's connection, in arrival order. */
  private writing: Promise<void> = Promise.resolve();
  private retryDelayMs = 0;
  private wakeRetry: (() => void) | undefined;
  private started = false;
  private stopping = false;
  private closing: Promise<void> | undefined;
  private readonly counters: WriterStats = { received: 0, rows: 0, invalid: 0, batches: 0, failedBatches: 0, pending: 0, lastCommitAt: null, lastError: null };
  private readonly onMessage = (message: Message) => this.receive(message);
  private readonly onStreamError = (error: Error) => this.report(error);
  private readonly onClose = () => {
    if (!this.stopping) this.report(new Error("the subscription closed by itself: no more messages will be written"));
  };

  /**
   * Takes over `subscription` (its flow control, leases and close behaviour are set here) and
   * `connection`, which should be the writer's own (`db.instance.connect()`): its transactions must not
   * mix with anyone else's. `close()` closes both.
   */
  constructor(subscription: Subscription, connection: DuckDBConnection, options: WriterOptions = {}) {
    this.subscription = subscription;
    this.connection = connection;
    this.options = { rawSchema: "detections_raw", subscriptionName: subscription.name, maxMessages: 2_000, maxDelayMs: 50, ...options };
    const maxOutstanding = Math.max(this.options.maxOutstandingMessages ?? 20_000, this.options.maxMessages);
    subscription.setOptions({
      // Exactly what flow control admits is delivered: no burst beyond it when a stream response
      // carries more than the remaining room.
      flowControl: { maxMessages: maxOutstanding, maxBytes: this.options.maxOutstandingBytes ?? 100 * 1024 * 1024, allowExcessMessages: false },
      minAckDeadline: Duration.from({ seconds: 10 }),
      maxAckDeadline: Duration.from({ seconds: Math.max(10, this.options.maxAckDeadlineSeconds ?? 60) }),
      // A message that cannot be committed within this long is let go, and Pub/Sub delivers it again.
      maxExtensionTime: Duration.from({ minutes: 10 }),
      // By the time close() closes the subscription every batch is committed and acknowledged: what is
      // left was received during the last commit and goes straight back (nack), then the queued acks
      // are sent before close() resolves.
      closeOptions: { behavior: "NACK", timeout: Duration.from({ seconds: 30 }) },
    });
  }

  /** Starts the streaming pull. */
  start(): void {
    if (this.started) throw new Error("the subscription writer was already started");
    this.started = true;
    this.subscription.on("message", this.onMessage);
    this.subscription.on("error", this.onStreamError);
    this.subscription.on("close", this.onClose);
  }

  stats(): WriterStats {
    return { ...this.counters };
  }

  /**
   * Stops taking messages, commits and acknowledges what was taken, then closes the subscription
   * (which hands back whatever arrived meanwhile and sends the acknowledgements) and the connection.
   */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.stopping = true;
      this.flush();
      // A batch waiting to retry a failed commit gives its messages back now instead.
      this.wakeRetry?.();
      await this.writing;
      // Removing the last message listener would close the subscription with its default behaviour:
      // close it explicitly first, with the options set above.
      await this.subscription.close();
      this.subscription.removeListener("message", this.onMessage);
      this.subscription.removeListener("error", this.onStreamError);
      this.subscription.removeListener("close", this.onClose);
      this.connection.closeSync();
    })());
  }

  private report(error: Error): void {
    this.counters.lastError = error.message.split("\n")[0]!;
    this.options.onError?.(error);
  }

  private receive(message: Message): void {
    // Left unhandled: closing the subscription nacks it, and Pub/Sub delivers it to the next writer.
    if (this.stopping) return;
    this.counters.received++;
    this.counters.pending++;
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
    this.writing = this.writing.then(() => this.commit(batch));
  }

  private async commit(batch: Message[]): Promise<void> {
    const payload = JSON.stringify(
      batch.map((m) => ({
        m: m.id,
        // Microseconds, as BigQuery's TIMESTAMP keeps them (well within 2^53).
        p: Number(m.publishTime.getFullTime() / 1000n),
        a: JSON.stringify(m.attributes ?? {}),
        d: m.data.toString("utf8"),
      }))
    );
    const { rawSchema } = this.options;
    const subscription = sqlString(this.options.subscriptionName);
    let written = 0;
    let invalid = 0;
    try {
      await this.connection.run("begin transaction");
      await this.connection.run(
        `create or replace temporary table pulled as
         with messages as (select unnest(from_json($1::json, ${BATCH_STRUCTURE})) as e),
         bodies as (select e.m as message_id, make_timestamp(e.p) as publish_time, e.a::json as attributes, e.d as data,
                      case when json_type(try_cast(e.d as json)) = 'OBJECT' then try_cast(e.d as json) end as body
                    from messages),
         columns as (
           select message_id, publish_time, attributes, data, body,
             ${INT64_FIELDS.map(int64Column).join(",\n             ")},
             case when json_type(body, '$.item_name') = 'VARCHAR' then body ->> 'item_name' end as item_name
           from bodies)
         select * exclude (body), ${PROBLEM} as problem from columns`,
        [payload]
      );
      written = (
        await this.connection.run(
          `insert into ${qualifiedName(rawSchema, RAW_EVENTS_TABLE)}
           select ${subscription}, message_id, publish_time, attributes,
             detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected
           from pulled where problem is null`
        )
      ).rowsChanged;
      // What BigQuery cannot write goes to the subscription's dead-letter topic; here, to the
      // invalid-events table with the reason, where the models count it. Acknowledged like the rest.
      invalid = (
        await this.connection.run(
          `insert into ${qualifiedName(rawSchema, INVALID_EVENTS_TABLE)}
           select ${subscription}, message_id, publish_time, json_object('reason', problem, 'attributes', attributes), data
           from pulled where problem is not null`
        )
      ).rowsChanged;
      await this.connection.run("drop table pulled");
      await this.options.beforeCommit?.(batch.length);
      await this.connection.run("commit");
    } catch (error) {
      await this.connection.run("rollback").catch(() => undefined);
      this.counters.failedBatches++;
      this.report(error as Error);
      // Not written: back off (a failing database is not hammered), then let Pub/Sub deliver the
      // messages again. Redelivery counts towards the subscription's dead-letter policy, as a
      // failing BigQuery write does.
      this.retryDelayMs = Math.min(LAST_RETRY_MS, this.retryDelayMs ? this.retryDelayMs * 2 : FIRST_RETRY_MS);
      if (!this.stopping) {
        await new Promise<void>((resolve) => {
          this.wakeRetry = resolve;
          setTimeout(resolve, this.retryDelayMs);
        });
        this.wakeRetry = undefined;
      }
      for (const message of batch) message.nack();
      this.counters.pending -= batch.length;
      return;
    }
    this.retryDelayMs = 0;
    this.counters.rows += written;
    this.counters.invalid += invalid;
    this.counters.batches++;
    this.counters.lastCommitAt = new Date();
    await this.options.afterCommit?.(batch.length);
    // Only now: committed, so a lost ack costs a duplicate row, never a missing one.
    for (const message of batch) message.ack();
    this.counters.pending -= batch.length;
  }
}
