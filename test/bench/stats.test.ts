// The statistics every benchmark figure goes through: a wrong median would mislabel every table.
import { describe, expect, it } from "vitest";
import { median, quantile, spread } from "../../bench/stats.ts";

describe("benchmark statistics", () => {
  it("takes the middle value, or the mean of the two middle ones, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("takes quantiles by nearest rank, NaN when there is nothing", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted order
    expect(quantile(values, 0.5)).toBe(51);
    expect(quantile(values, 0.99)).toBe(100);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it("summarises runs as median, min, max and count", () => {
    expect(spread([7, 3, 5, 9, 1])).toEqual({ median: 5, min: 1, max: 9, runs: 5 });
  });
});
