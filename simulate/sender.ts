// Sends the simulated stream to an ingest URL at a steady rate. Batches are paced by a schedule
// (batch k is due at start + k·size/rate), so slow responses do not lower the average rate as long as
// fewer than `concurrency` requests are in flight. A batch the service could not take (503, 429,
// network errors) is re-sent until it is acknowledged or the run ends: nothing is dropped unseen.
import { EventStream, type BatchCounts, type SimulatedEvent, type StreamOptions } from "./events.ts";

export interface SendOptions {
  url: string;
  /** Events per second. */
  rate: number;
  batchSize: number;
  concurrency: number;
  /** Seconds to run; undefined = until the signal aborts. */
  durationSeconds?: number;
  token?: string;
  signal?: AbortSignal;
  stream: StreamOptions;
}

export interface Progress {
  elapsedSeconds: number;
  sent: number;
  accepted: number;
  rejected: number;
  /** Events per second acknowledged over the last interval. */
  rate: number;
  retries: number;
  failedRequests: number;
}

export interface SendHooks {
  /** The events the service acknowledged as durable (invalid entries and rejected indices left out). */
  onAccepted?: (events: SimulatedEvent[]) => void;
  onProgress?: (progress: Progress) => void;
  /** Called once per distinct error message (a 401, a 413, a refused connection). */
  onProblem?: (message: string) => void;
}

export interface SendSummary extends BatchCounts {
  seconds: number;
  /** Events in acknowledged requests. */
  sent: number;
  accepted: number;
  rejected: number;
  pendingCopies: number;
  retries: number;
  failedRequests: number;
  /** Events lost to failed requests (never acknowledged). */
  unacknowledged: number;
  achievedRate: number;
  latencyMs: { p50: number; p99: number; max: number };
}

interface AcceptedResponse {
  accepted: number;
  rejected: number;
  errors: Array<{ index: number; reason: string }>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function sendStream(options: SendOptions, hooks: SendHooks = {}): Promise<SendSummary> {
  const stream = new EventStream(options.stream);
  const endpoint = new URL("/v1/detections", options.url).toString();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const counts: BatchCounts = { originals: 0, copies: 0, conflicting: 0, late: 0, invalid: 0, unknownLocation: 0 };
  const totals = { sent: 0, accepted: 0, rejected: 0, retries: 0, failedRequests: 0, unacknowledged: 0 };
  const latencies: number[] = [];
  const problems = new Set<string>();
  const problem = (message: string) => {
    if (problems.has(message)) return;
    problems.add(message);
    hooks.onProblem?.(message);
  };

  const started = performance.now();
  const deadline = options.durationSeconds === undefined ? Infinity : started + options.durationSeconds * 1000;
  // Retries of batches already generated continue a little past the end, so a brief 503 at the end
  // of a run does not turn into unacknowledged events.
  const retryGrace = 10_000;
  let stoppedAt: number | undefined;
  const stopped = () => {
    if (stoppedAt === undefined && (options.signal?.aborted === true || performance.now() >= deadline)) stoppedAt = performance.now();
    return stoppedAt !== undefined;
  };
  const givenUp = () => stopped() && performance.now() > stoppedAt! + retryGrace;

  async function deliver(batch: ReturnType<EventStream["nextBatch"]>): Promise<void> {
    let backoff = 250;
    for (;;) {
      const sentAt = performance.now();
      try {
        const response = await fetch(endpoint, { method: "POST", headers, body: batch.body, signal: AbortSignal.timeout(30_000) });
        const text = await response.text();
        if (response.status === 202) {
          latencies.push(performance.now() - sentAt);
          const body = JSON.parse(text) as AcceptedResponse;
          const rejectedIndexes = new Set(body.errors.map((e) => e.index));
          totals.sent += batch.events.length;
          totals.accepted += body.accepted;
          totals.rejected += body.rejected;
          if (hooks.onAccepted) hooks.onAccepted(batch.events.filter((e, i): e is SimulatedEvent => e !== null && !rejectedIndexes.has(i)));
          return;
        }
        if (response.status === 503 || response.status === 429) {
          const wait = Number(response.headers.get("retry-after"));
          totals.retries++;
          if (givenUp()) break;
          await sleep(Number.isFinite(wait) && wait > 0 ? wait * 1000 : backoff);
          continue;
        }
        problem(`${response.status} from ${endpoint}: ${text.slice(0, 300)}`);
        break;
      } catch (error) {
        problem(`cannot reach ${endpoint}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`);
        totals.retries++;
        if (givenUp()) break;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
    totals.failedRequests++;
    totals.unacknowledged += batch.events.length;
  }

  const inFlight = new Set<Promise<void>>();
  let batches = 0;
  let lastProgress = { at: started, accepted: 0 };
  const progressTimer = setInterval(() => {
    const now = performance.now();
    hooks.onProgress?.({
      elapsedSeconds: (now - started) / 1000,
      sent: totals.sent,
      accepted: totals.accepted,
      rejected: totals.rejected,
      rate: ((totals.accepted + totals.rejected - lastProgress.accepted) * 1000) / (now - lastProgress.at),
      retries: totals.retries,
      failedRequests: totals.failedRequests,
    });
    lastProgress = { at: now, accepted: totals.accepted + totals.rejected };
  }, 1000);

  try {
    while (!stopped()) {
      const due = started + (batches * options.batchSize * 1000) / options.rate;
      // A run of d seconds sends d·rate events: the batch due at the deadline belongs to the next second.
      if (due >= deadline) break;
      const wait = due - performance.now();
      if (wait > 0) await sleep(Math.min(wait, deadline - performance.now()), options.signal);
      if (stopped()) break;
      if (inFlight.size >= options.concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      const batch = stream.nextBatch(options.batchSize);
      for (const key of Object.keys(counts) as Array<keyof BatchCounts>) counts[key] += batch.counts[key];
      batches++;
      const delivery = deliver(batch).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    }
    await Promise.all(inFlight);
  } finally {
    clearInterval(progressTimer);
  }

  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    ...counts,
    seconds,
    ...totals,
    pendingCopies: stream.pendingCopies,
    achievedRate: (totals.accepted + totals.rejected) / seconds,
    latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? 0 },
  };
}
