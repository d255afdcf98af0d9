// Load shedding when the event loop itself is the bottleneck. The in-flight byte cap only sees
// requests the service has started to read; once the event loop is saturated, the excess waits in the
// kernel's socket buffers instead, invisible to that cap, and every answer just gets later (measured:
// one core taking ~290,000 events/s while thousands of requests waited and new connections were
// refused). The event loop's delay shows that queue: while it is high, new requests are refused with
// 503 before their bodies are parsed, which is far cheaper than serving them.
import { monitorEventLoopDelay } from "node:perf_hooks";

export interface EventLoopPressure {
  /** True while the event loop's recent delay exceeds the bound. */
  overloaded(): boolean;
  /** The longest delay of the current and the previous window, in milliseconds. */
  delayMs(): number;
  stop(): void;
}

/**
 * Watches the event loop's delay in windows of `windowMs`. The longest delay counts, not a
 * percentile: a saturated loop shows up as a few very late turns among many samples taken while it
 * waits. The previous window counts too, so a delay recorded just before a window closes is not lost.
 */
export function watchEventLoop(maxDelayMs: number, windowMs = 250): EventLoopPressure {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let previousMaxMs = 0;
  let stopped = false;
  const timer = setInterval(() => {
    previousMaxMs = histogram.count > 0 ? histogram.max / 1e6 : 0;
    histogram.reset();
  }, windowMs);
  timer.unref();
  const delayMs = () => Math.max(previousMaxMs, histogram.count > 0 ? histogram.max / 1e6 : 0);
  return {
    overloaded: () => !stopped && delayMs() > maxDelayMs,
    delayMs,
    stop() {
      stopped = true;
      clearInterval(timer);
      histogram.disable();
    },
  };
}
