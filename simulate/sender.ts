// Sends the simulated stream to an ingest service at a steady rate. Batches follow a schedule (batch k
// is due at start + k·size/rate), so slow responses do not lower the average rate while fewer than
// `concurrency` requests are in flight; a sender that fell behind catches up at most a second's worth,
// so a service that recovers from an outage is not hit by the whole backlog at once. A batch the
// service could not take (503, 429, other 5xx, network errors) is re-sent, body unchanged, until it is
// acknowledged or the run has ended: nothing is dropped unseen.
import { DEFAULT_STREAM, EventStream, type BatchCounts, type SimulatedEvent, type StreamOptions } from "./events.ts";
import { clockOid } from "./settings.ts";

export interface SendOptions {
  /** Base URL of the ingest service; events go to POST {url}/v1/detections. */
  url: string;
  /** Events per second. */
  rate: number;
  /** Events per request; smaller at rates below it, so a batch never holds more than a second's events. */
  batchSize: number;
  /** Requests in flight at most. */
  concurrency: number;
  /** Seconds to run; undefined = until the signal aborts. */
  durationSeconds?: number;
  /** Bearer token, for a service with auth on. */
  token?: string;
  signal?: AbortSignal;
  /** After the run ends, requests still retrying keep at it this long, then count as failed (10 s). */
  retryGraceMs?: number;
  stream: StreamOptions;
}

/** SendOptions with defaults: 10,000 events/s in batches of 500, 8 requests in flight, DEFAULT_STREAM. */
export interface SimulateOptions extends Partial<Omit<SendOptions, "url" | "stream">> {
  url: string;
  /** Defaults to DEFAULT_STREAM, first detection_oid from the clock (see settings.ts). */
  stream?: Partial<StreamOptions>;
}

export const SEND_DEFAULTS = { rate: 10_000, batchSize: 500, concurrency: 8 } as const;

export interface Progress {
  elapsedSeconds: number;
  /** Events posted at least once. */
  sent: number;
  accepted: number;
  rejected: number;
  /** Events per second acknowledged over the last interval. */
  rate: number;
  retries: number;
  failedRequests: number;
  copies: number;
  pendingCopies: number;
  inFlightRequests: number;
}

export interface SendHooks {
  /** The events the service acknowledged as durable (invalid entries and rejected indices left out). */
  onAccepted?: (events: SimulatedEvent[]) => void;
  /** Every second. */
  onProgress?: (progress: Progress) => void;
  /** Called once per kind of problem (a 401, a 413, a refused connection), with the first message. */
  onProblem?: (message: string) => void;
}

export type StopReason = "duration" | "signal" | "refused";

export interface SendSummary extends BatchCounts {
  seconds: number;
  /** Events posted at least once: accepted + rejected + unacknowledged. */
  sent: number;
  accepted: number;
  rejected: number;
  /** Copies generated but not yet due when the run ended (never sent). */
  pendingCopies: number;
  /** Re-sent requests (after 503/429/5xx or a network error). */
  retries: number;
  /** Requests given up on: refused with a 4xx, or still failing when the run ended. */
  failedRequests: number;
  /** Events lost to failed requests (never acknowledged). */
  unacknowledged: number;
  /** Acknowledged events (accepted + rejected) per second of the run. */
  achievedRate: number;
  /** From the last attempt's request to its 202. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Why the run ended; "refused" = the service refused the first requests (bad URL or token). */
  stoppedBy: StopReason;
}

interface AcceptedResponse {
  accepted: number;
  rejected: number;
  errors: Array<{ index: number }>;
}

/** A sender that fell behind sends at most this much of its backlog at once. */
const MAX_CATCH_UP_MS = 1_000;
const RETRY_GRACE_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_RETRY_AFTER_MS = 60_000;
const RETRIABLE = new Set([408, 429, 500, 502, 503, 504]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Where batches go: {url}/v1/detections, keeping any path prefix of the base URL (a proxy's, say). */
export function detectionsEndpoint(url: string): string {
  return `${url.replace(/\/+$/, "")}/v1/detections`;
}

/** Retry-After in milliseconds: delay-seconds or an HTTP date (RFC 9110), undefined if absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const text = header.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** Latencies in 2%-wide buckets: percentiles of a run of any length in constant memory. */
class LatencyHistogram {
  private static readonly MIN = 0.05;
  private static readonly RATIO = Math.log(1.02);
  private readonly buckets = new Uint32Array(1024);
  private count = 0;
  max = 0;

  add(ms: number): void {
    const index = ms <= LatencyHistogram.MIN ? 0 : Math.min(1023, 1 + Math.floor(Math.log(ms / LatencyHistogram.MIN) / LatencyHistogram.RATIO));
    this.buckets[index]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The upper edge of the bucket holding the p-th latency (never above the largest seen). */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(this.max, LatencyHistogram.MIN * Math.exp(i * LatencyHistogram.RATIO));
    }
    return this.max;
  }
}

function parseAccepted(text: string): AcceptedResponse | undefined {
  try {
    const body = JSON.parse(text) as Partial<AcceptedResponse>;
    if (typeof body.accepted === "number" && typeof body.rejected === "number" && Array.isArray(body.errors)) return body as AcceptedResponse;
  } catch {
    // Falls through: reported by the caller.
  }
  return undefined;
}

const causeOf = (error: unknown) => {
  const e = error as Error & { cause?: Error & { code?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.name ?? e.message;
};

export async function sendStream(options: SendOptions, hooks: SendHooks = {}): Promise<SendSummary> {
  for (const [name, value] of [["rate", options.rate], ["batchSize", options.batchSize], ["concurrency", options.concurrency]] as const) {
    if (!(value > 0 && Number.isFinite(value))) throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
  if (options.durationSeconds !== undefined && !(options.durationSeconds > 0)) throw new RangeError(`durationSeconds must be positive, got ${options.durationSeconds}`);
  const stream = new EventStream(options.stream);
  const endpoint = detectionsEndpoint(options.url);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const batchSize = Math.max(1, Math.min(Math.floor(options.batchSize), Math.floor(options.rate)));
  const interval = (batchSize * 1000) / options.rate;
  // A run of d seconds sends d·rate events, its last batch cut short if need be.
  const total = options.durationSeconds === undefined ? Infinity : Math.round(options.rate * options.durationSeconds);

  const counts: BatchCounts = { originals: 0, copies: 0, conflicting: 0, late: 0, invalid: 0, unknownLocation: 0 };
  const totals = { sent: 0, accepted: 0, rejected: 0, retries: 0, failedRequests: 0, unacknowledged: 0 };
  const latencies = new LatencyHistogram();
  const reported = new Set<string>();
  const problem = (kind: string, message: string) => {
    if (reported.has(kind)) return;
    reported.add(kind);
    hooks.onProblem?.(message);
  };

  // halt: no new batches. giveUp: requests still retrying stop too (the grace after halt is over).
  const halt = new AbortController();
  const giveUp = new AbortController();
  let stoppedBy: StopReason = "duration";
  const stop = (reason: StopReason) => {
    if (halt.signal.aborted) return;
    stoppedBy = reason;
    halt.abort();
  };
  const onSignal = () => stop("signal");
  if (options.signal?.aborted) stop("signal");
  options.signal?.addEventListener("abort", onSignal, { once: true });
  const started = performance.now();
  const deadline = options.durationSeconds === undefined ? Infinity : started + options.durationSeconds * 1000;
  // Timers past 2^31-1 ms fire at once; runs that long end by the schedule check alone.
  const deadlineTimer = deadline - started < 2 ** 31 - 1 ? setTimeout(() => stop("duration"), deadline - started) : undefined;

  async function deliver(batch: ReturnType<EventStream["nextBatch"]>): Promise<void> {
    let backoff = 250;
    const retryAfter = (ms: number | undefined) => {
      totals.retries++;
      // Jitter keeps concurrent senders from retrying in lockstep.
      const wait = ms ?? backoff * (0.75 + Math.random() / 2);
      backoff = Math.min(backoff * 2, 5_000);
      return sleep(wait, giveUp.signal);
    };
    while (!giveUp.signal.aborted) {
      const sentAt = performance.now();
      let response: Response;
      let text: string;
      try {
        response = await fetch(endpoint, {
          method: "POST",
          headers,
          body: batch.body,
          signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), giveUp.signal]),
        });
        text = await response.text();
      } catch (error) {
        if (giveUp.signal.aborted) break;
        problem(`network ${causeOf(error)}`, `cannot reach ${endpoint} (${causeOf(error)}): retrying`);
        await retryAfter(undefined);
        continue;
      }
      if (response.status === 202) {
        latencies.add(performance.now() - sentAt);
        const body = parseAccepted(text);
        if (!body) problem("202 body", `202 from ${endpoint} without the {accepted, rejected, errors} body: counting the batch's valid events as accepted`);
        const rejectedIndexes = new Set((body?.errors ?? []).map((e) => e.index));
        const acknowledged = batch.events.filter((e, i): e is SimulatedEvent => e !== null && !rejectedIndexes.has(i));
        totals.accepted += body?.accepted ?? acknowledged.length;
        totals.rejected += body?.rejected ?? batch.events.length - acknowledged.length;
        hooks.onAccepted?.(acknowledged);
        return;
      }
      if (RETRIABLE.has(response.status)) {
        problem(`status ${response.status}`, `${response.status} from ${endpoint}: ${text.slice(0, 300)} (retrying)`);
        await retryAfter(retryAfterMs(response.headers.get("retry-after")));
        continue;
      }
      problem(`status ${response.status}`, `${response.status} from ${endpoint}: ${text.slice(0, 300)}`);
      // A service that refuses the very first requests (wrong URL, missing token) will refuse the rest.
      if (totals.accepted + totals.rejected === 0) stop("refused");
      break;
    }
    totals.failedRequests++;
    totals.unacknowledged += batch.events.length;
  }

  const inFlight = new Set<Promise<void>>();
  const halted = new Promise<void>((resolve) => halt.signal.addEventListener("abort", () => resolve(), { once: true }));
  let lastProgress = { at: started, acknowledged: 0 };
  const progressTimer = setInterval(() => {
    const now = performance.now();
    const acknowledged = totals.accepted + totals.rejected;
    hooks.onProgress?.({
      elapsedSeconds: (now - started) / 1000,
      sent: totals.sent,
      accepted: totals.accepted,
      rejected: totals.rejected,
      rate: ((acknowledged - lastProgress.acknowledged) * 1000) / (now - lastProgress.at),
      retries: totals.retries,
      failedRequests: totals.failedRequests,
      copies: counts.copies,
      pendingCopies: stream.pendingCopies,
      inFlightRequests: inFlight.size,
    });
    lastProgress = { at: now, acknowledged };
  }, 1000);

  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  try {
    let due = started;
    while (!halt.signal.aborted) {
      if (inFlight.size >= options.concurrency) {
        await Promise.race([...inFlight, halted]);
        continue;
      }
      const now = performance.now();
      if (now - due > MAX_CATCH_UP_MS) due = now - MAX_CATCH_UP_MS;
      if (totals.sent >= total || due >= deadline) break;
      if (due > now) {
        await sleep(due - now, halt.signal);
        continue;
      }
      const batch = stream.nextBatch(Math.min(batchSize, total - totals.sent));
      for (const key of Object.keys(counts) as Array<keyof BatchCounts>) counts[key] += batch.counts[key];
      totals.sent += batch.events.length;
      due += interval;
      const delivery = deliver(batch).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    }
    graceTimer = setTimeout(() => giveUp.abort(), options.retryGraceMs ?? RETRY_GRACE_MS);
    await Promise.all(inFlight);
  } finally {
    clearInterval(progressTimer);
    clearTimeout(deadlineTimer);
    clearTimeout(graceTimer);
    options.signal?.removeEventListener("abort", onSignal);
    giveUp.abort();
  }

  const seconds = (performance.now() - started) / 1000;
  return {
    ...counts,
    seconds,
    ...totals,
    pendingCopies: stream.pendingCopies,
    achievedRate: (totals.accepted + totals.rejected) / seconds,
    latencyMs: { p50: latencies.percentile(0.5), p99: latencies.percentile(0.99), max: latencies.max },
    stoppedBy,
  };
}

export type Simulation = Promise<SendSummary> & {
  /** Stops sending; requests in flight finish (or give up after a grace period), then the summary resolves. */
  stop(): void;
};

/** Runs the simulator with defaults for whatever `options` leave out; `stop()` ends it like the signal. */
export function simulate(options: SimulateOptions, hooks: SendHooks = {}): Simulation {
  const stopper = new AbortController();
  const { stream, signal, ...rest } = options;
  const run = sendStream(
    {
      ...SEND_DEFAULTS,
      ...Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)),
      url: options.url,
      signal: signal ? AbortSignal.any([signal, stopper.signal]) : stopper.signal,
      stream: { ...DEFAULT_STREAM, firstOid: clockOid(), ...Object.fromEntries(Object.entries(stream ?? {}).filter(([, value]) => value !== undefined)) },
    },
    hooks
  );
  return Object.assign(run, { stop: () => stopper.abort() });
}
