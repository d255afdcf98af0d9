// The benchmark report: BENCHMARKS.md's measured part is rebuilt from the results between its markers,
// the hand-written prose around it is kept, a missed target says so, and the plot is an SVG.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeReport } from "../../bench/report.ts";

const dir = mkdtempSync(path.join(tmpdir(), "sightline-report-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const spread = (median: number, min = median * 0.9, max = median * 1.1) => ({ median, min, max, runs: 5 });
const sink = (eventsPerSecond: number, p99: number) => ({ eventsPerSecond: spread(eventsPerSecond), eventsPerCpuSecond: spread(eventsPerSecond), p50Ms: spread(p99 / 4), p99Ms: spread(p99), failedRequests: 0 });

function fixture(duckdb: number) {
  const data = path.join(dir, `data-${duckdb}`);
  mkdirSync(data, { recursive: true });
  writeFileSync(
    path.join(data, "ingest-results.json"),
    JSON.stringify({ startedAt: "2026-12-01T00:00:00Z", batch: 500, concurrency: 16, seconds: 4, runs: 5, ceiling: sink(600_000, 20), duckdb: sink(duckdb, 300), postgres_copy: sink(50_000, 500), postgres_insert: sink(40_000, 600), pubsub: sink(90_000, 200), latencyAt100k: { p50: spread(20), p99: spread(80), achieved: spread(100_000) } })
  );
  const run = (rate: number, achieved: string, p95: number) => ({
    rate,
    realtime: { p50: p95 / 3, p95, max: p95 * 2 },
    models: { p50: 4, p95: 6.5, max: 7 },
    simulator: [`simulated 321.0 s at ${achieved} events/s: 3,210,000 sent, 3,194,503 accepted, 15,497 rejected`, "  3,147,515 detections"],
  });
  const freshnessRate = (rate: number, achieved: string[], p95: number) => ({
    runs: achieved.map((a) => run(rate, a, p95)),
    realtime: { p50: spread(p95 / 3), p95: spread(p95), max: spread(p95 * 2) },
    models: { p50: spread(4), p95: spread(6.5), max: spread(7) },
    stackCpuCores: spread(0.8),
    stackRssMiB: { median: spread(430), max: spread(700) },
  });
  writeFileSync(
    path.join(data, "freshness-results.json"),
    JSON.stringify({ startedAt: "2026-12-02T00:00:00Z", seconds: 300, warmup: 20, every: "5", rates: { "10000": freshnessRate(10_000, ["10,000", "10,001", "9,990"], 0.3), "50000": freshnessRate(50_000, ["42,368", "45,220", "40,543"], 0.8) } })
  );
  // 36M measured in this run, 1M carried over from an earlier one (bench/models_peer.ts --sizes 36).
  // The 1M size comes from before the peer's steps were timed apart on DuckDB (no sameStepsMs).
  const size = (fullMs: number, incrementalMs: number, pgMs: number, sameStepsMs?: number) => ({
    rawRows: fullMs * 1000,
    duckdb: {
      fullRefreshMs: spread(fullMs),
      ...(sameStepsMs ? { sameStepsMs: spread(sameStepsMs) } : {}),
      fullRefreshPeakRssMiB: spread(3000),
      incrementalMs: spread(incrementalMs),
      incrementalPeakRssMiB: 3000,
    },
    postgres: { fullRefreshMs: spread(pgMs), fullRefreshPeakRssMiB: spread(1500), incrementalMs: spread(2 * incrementalMs) },
    fullRefreshSpeedup: pgMs / fullMs,
    ...(sameStepsMs ? { sameStepsSpeedup: pgMs / sameStepsMs } : {}),
  });
  writeFileSync(
    path.join(data, "models-peer-results.json"),
    JSON.stringify({
      startedAt: "2026-12-02T04:00:00Z",
      reps: 5,
      sizes: {
        "36M": { measuredAt: "2026-12-02T04:00:00Z", reps: 5, ...size(52_000, 3_000, 208_000, 32_000) },
        "1M": { measuredAt: "2026-12-01T20:00:00Z", reps: 3, ...size(2_400, 1_200, 9_400) },
      },
    })
  );
  const benchmarks = path.join(dir, `BENCHMARKS-${duckdb}.md`);
  writeFileSync(benchmarks, "# Benchmarks\n\nHand-written introduction.\n\n## Analysis\n\nHand-written analysis.\n");
  const figures = path.join(dir, `figures-${duckdb}`);
  mkdirSync(figures, { recursive: true });
  return { data, benchmarks, figures };
}

describe("the benchmark report", () => {
  it("writes the measured part between markers, keeps the prose, and says which targets are missed", async () => {
    const files = fixture(160_000);
    await writeReport(files);
    const first = readFileSync(files.benchmarks, "utf8");
    expect(first).toContain("Hand-written introduction.");
    expect(first).toContain("Hand-written analysis.");
    expect(first).toMatch(/\| \(b\) ≥ 300,000 events\/s \| 160 k\/s \| \*\*no\*\* \|/);
    expect(first).toMatch(/\| \(b\) ≥ 3× \(c\) \| 3\.20× \| yes \|/);
    expect(first).toMatch(/\| p99 ≤ 100 ms at 100,000 events\/s \| 80\.0 ms \| yes \|/);
    expect(first).toContain("b/a = **0.27**; b/c = **3.20**");
    // Sizing from the measured 90 k events per CPU-second: 10,000/s needs 0.19 vCPU at 60 %.
    expect(first).toMatch(/\| 10,000 \| 0\.2 \| 1 \|/);
    // Freshness: the rate the simulator really reached, beside the rate asked for.
    expect(first).toMatch(/\| 50,000 \| \*\*42\.4 k\*\* \(40\.5 k – 45\.2 k\) \| 3 \|/);
    expect(first).toMatch(/\| 10,000 \| \*\*10\.0 k\*\* \(10\.0 k – 10\.0 k\) \| 3 \|/);
    expect(first).toMatch(/\| freshness p95 ≤ 5 s at 10,000 events\/s \| real-time panel 0\.30 s; scheduled models 6\.50 s \| yes \(real-time panel\) \|/);
    expect(readFileSync(path.join(files.figures, "benchmarks-ingest.svg"), "utf8")).toMatch(/^<svg/);
    expect(readFileSync(path.join(files.figures, "benchmarks-freshness.svg"), "utf8")).toMatch(/^<svg/);
    expect(first).toContain(`![Ingest throughput](figures-160000/benchmarks-ingest.svg)`);
    // Models: smallest size first, a carried-over size dated, the targets read from the 36M row.
    expect(first.indexOf("| 1M (2,400,000, measured 2026-12-01, 3 runs) |")).toBeGreaterThan(0);
    expect(first.indexOf("| 1M (")).toBeLessThan(first.indexOf("| 36M (52,000,000) |"));
    expect(first).toMatch(/\| full refresh of 36 M rows ≤ 60 s \| 52\.0 s \| yes \|/);
    // 208 s against 52 s for the whole graph, against 32 s for the peer's own steps.
    expect(first).toMatch(/\| … ≥ 5× faster than PostgreSQL \| whole graph 4\.0×; the peer's steps only: 6\.5× \| the same steps: yes; the whole graph: \*\*no\*\* \|/);
    expect(first).toMatch(/\| 36M \(52,000,000\) \|[^\n]*\| \*\*4\.0×\*\* \| \*\*32\.0 s\*\* \(28\.8 s – 35\.2 s\) \| \*\*6\.5×\*\* \|/);
    expect(first).toMatch(/\| 1M \([^\n]*\| \*\*3\.9×\*\* \| — \| — \|/);
    expect(first).toMatch(/over 36M rows of history \(1M: 1\.20 s, 36M: 3\.00 s\)/);

    // A second run replaces the measured part instead of adding another.
    writeFileSync(path.join(files.data, "ingest-results.json"), readFileSync(path.join(files.data, "ingest-results.json"), "utf8").replace('"median":160000', '"median":320000'));
    await writeReport(files);
    const second = readFileSync(files.benchmarks, "utf8");
    expect(second.match(/generated by `npm run bench`/g)).toHaveLength(1);
    expect(second).toMatch(/\| \(b\) ≥ 300,000 events\/s \| 320 k\/s \| yes \|/);
  });

  it("keeps the parts of the last report whose results are not in bench-data/, and says so where there were none", async () => {
    const files = fixture(170_000);
    await writeReport(files);
    const full = readFileSync(files.benchmarks, "utf8");
    const part = (text: string, heading: string) => text.slice(text.indexOf(heading), text.indexOf("\n## ", text.indexOf(heading) + 1));
    // Only the ingest part measured again (a fresh clone, or `npm run bench -- ingest`).
    rmSync(path.join(files.data, "models-peer-results.json"));
    rmSync(path.join(files.data, "freshness-results.json"));
    writeFileSync(path.join(files.data, "ingest-results.json"), readFileSync(path.join(files.data, "ingest-results.json"), "utf8").replace('"median":170000', '"median":330000'));
    await writeReport(files);
    const next = readFileSync(files.benchmarks, "utf8");
    expect(next).toMatch(/\| \(b\) ≥ 300,000 events\/s \| 330 k\/s \| yes \|/);
    expect(next).not.toContain("170 k/s");
    for (const heading of ["## Models side by side", "## Freshness of the local stack"]) {
      expect(part(next, heading)).toBe(part(full, heading));
    }
    expect(part(next, "## Freshness of the local stack")).toContain("benchmarks-freshness.svg");
    // The targets the missing parts measured are carried, once each, in the table's order.
    for (const label of ["| full refresh of 36 M rows ≤ 60 s | 52.0 s | yes |", "| freshness p95 ≤ 5 s at 10,000 events/s |", "| incremental run ≤ 1 s"]) {
      expect(next.split(label)).toHaveLength(2);
    }
    const targets = part(next, "## Targets");
    expect(targets.indexOf("| p99")).toBeLessThan(targets.indexOf("| incremental run"));
    expect(targets.indexOf("| … ≥ 5×")).toBeLessThan(targets.indexOf("| freshness p95"));
    expect(targets.match(/\| target \| measured \| met\? \|/g)).toHaveLength(1);

    // With no earlier report, a missing part says how to measure it.
    writeFileSync(files.benchmarks, "# Benchmarks\n\n## Analysis\n");
    await writeReport(files);
    const fresh = readFileSync(files.benchmarks, "utf8");
    expect(part(fresh, "## Models side by side")).toContain("Not measured yet: `npm run bench -- models-peer`.");
    expect(part(fresh, "## Freshness")).toContain("Not measured yet: `npm run bench -- freshness`.");
    expect(fresh).not.toContain("| full refresh of 36 M rows");
  });
});
