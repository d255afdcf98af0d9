// Load shedding when the event loop itself is the bottleneck. The in-flight byte cap only sees
// requests the service has started to read; once the event loop is saturated, the excess waits in the
// kernel's socket buffers instead, invisible to that cap, and every answer just gets later (measured:
// one core taking ~290,000 events/s while thousands of requests waited and new connections were
// refused). The event loop's delay shows that queue: while it is high, new requests are refused with
// 503 before their bodies are parsed, which is far cheaper than serving them.
import { monitorEventLoopDelay } from "node:perf_hooks";

export interface EventLoopPressure {
  /** True while the event loop's mean delay over the last complete window exceeds the bound. */
  overloaded(): boolean;
  /** That mean delay, in milliseconds. */
  delayMs(): number;
  stop(): void;
}

/**
 * Watches the event loop's delay in windows of `windowMs`. The mean counts, not the longest delay: a
 * single stall (a garbage collection, a DuckDB checkpoint holding a call) is one late turn among many
 * samples and must not shed load; a saturated loop is late on every turn. (The longest delay was
 * tried first: a 15-minute soak at 10,000 events/s, a tenth of capacity, then got 503 for ~7 % of its
 * requests, one burst after every checkpoint.)
 */
export function watchEventLoop(maxDelayMs: number, windowMs = 250): EventLoopPressure {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let meanMs = 0;
  let stopped = false;
  const timer = setInterval(() => {
    // A window without samples (this timer ran first after a stall) extends into the next one.
    if (histogram.count === 0) return;
    // Nanoseconds; every sample includes the 10 ms resolution itself.
    meanMs = histogram.mean / 1e6;
    histogram.reset();
  }, windowMs);
  timer.unref();
  return {
    overloaded: () => !stopped && meanMs > maxDelayMs,
    delayMs: () => meanMs,
    stop() {
      stopped = true;
      clearInterval(timer);
      histogram.disable();
    },
  };
}
