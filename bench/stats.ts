// The few statistics every benchmark reports: median (min – max) over repeated runs, and quantiles of
// latencies within a run.

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many runs; absent in results written before it was recorded. */
  runs?: number;
}

/** The middle value; with an even count, the mean of the two middle ones. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The q-quantile by nearest rank (q = 0.99: the value 99 % of the others are at or below); NaN if empty. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values.length };
}
