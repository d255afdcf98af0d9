// What a simulator run needs besides the target: one shape for the CLI, the local stack and benchmarks.
import { DEFAULT_STREAM, type StreamOptions } from "./events.ts";
import type { SendOptions } from "./sender.ts";

export interface SimulatorSettings extends Partial<Omit<StreamOptions, "firstOid">> {
  rate: number;
  batchSize?: number;
  concurrency?: number;
  durationSeconds?: number;
  /** Default: from the clock, so a restarted simulator never reuses a detection_oid. */
  firstOid?: number;
}

/** detection_oids from the clock: microseconds since the epoch stay below 2^53 until the year 2255. */
export function clockOid(): number {
  return Date.now() * 1000;
}

export function sendOptions(settings: SimulatorSettings, url: string, token?: string): Omit<SendOptions, "signal"> {
  const { rate, batchSize, concurrency, durationSeconds, firstOid, ...stream } = settings;
  const defined = Object.fromEntries(Object.entries(stream).filter(([, v]) => v !== undefined));
  return {
    url,
    token,
    rate,
    batchSize: batchSize ?? 500,
    concurrency: concurrency ?? 8,
    durationSeconds,
    stream: { ...DEFAULT_STREAM, ...defined, firstOid: firstOid ?? clockOid() },
  };
}
