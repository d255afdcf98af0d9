// The event-loop watch behind load shedding: it must notice a blocked loop, and let go once the loop
// is free again (a service stuck refusing after the load dropped would be worse than no shedding).
import { afterEach, describe, expect, it } from "vitest";
import { watchEventLoop, type EventLoopPressure } from "../../ingest/pressure.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else on this event loop runs meanwhile
  }
}

let pressure: EventLoopPressure | undefined;
afterEach(() => pressure?.stop());

describe("event loop pressure", () => {
  it("is overloaded while the loop is saturated, not after one stall, and recovers", async () => {
    pressure = watchEventLoop(50, 200);
    await sleep(450);
    expect(pressure.overloaded()).toBe(false);
    // One stall among many prompt turns: not overload.
    blockFor(150);
    await sleep(450);
    expect(pressure.overloaded()).toBe(false);
    // Saturated: the loop gets a turn only every 150 ms, as when it has more to do than it can.
    const seen: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      blockFor(150);
      await sleep(1);
      seen.push(pressure.overloaded());
    }
    expect(pressure.delayMs()).toBeGreaterThan(50);
    expect(seen.slice(3)).toEqual([true, true, true]);
    // Two calm windows later the bound holds again.
    await sleep(500);
    expect(pressure.overloaded()).toBe(false);
  });

  it("never reports overload once stopped", async () => {
    pressure = watchEventLoop(50, 100);
    await sleep(50);
    for (let i = 0; i < 4; i++) {
      blockFor(150);
      await sleep(1);
    }
    expect(pressure.overloaded()).toBe(true);
    pressure.stop();
    expect(pressure.overloaded()).toBe(false);
  });
});
