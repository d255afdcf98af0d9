import { describe, expect, it } from "vitest";
import { loadInclude } from "../support/includes.ts";

const base = {
  raw_dataset: "detections_raw",
  locations_uri: "gs://b/x.parquet",
  late_arrival_seconds: "600",
  dedup_window_days: "7",
  top_x: "10",
  late_after_seconds: "60",
  late_sweep_seconds: "300",
  late_sweep_min_rows: "0",
  max_processing_delay_minutes: "15",
};

describe("includes/constants.js", () => {
  it("turns the vars into numbers the models use", () => {
    const constants = loadInclude<Record<string, unknown>>("constants", base);
    expect(constants).toMatchObject({ RAW_DATASET: "detections_raw", TOP_X: 10, LATE_AFTER_SECONDS: 60, LATE_SWEEP_SECONDS: 300, LATE_SWEEP_MIN_ROWS: 0, DEDUP_WINDOW_SECONDS: 7 * 86400, MAX_PROCESSING_DELAY_SECONDS: 900 });
  });

  it("fails the compile on a var that is not a positive integer, naming it", () => {
    expect(() => loadInclude("constants", { ...base, top_x: "ten" })).toThrow(/var "top_x" must be a positive integer, got "ten"/);
    expect(() => loadInclude("constants", { ...base, dedup_window_days: "0" })).toThrow(/dedup_window_days/);
    expect(() => loadInclude("constants", { ...base, late_sweep_min_rows: "-1" })).toThrow(/var "late_sweep_min_rows" must be a whole number, 0 or more, got "-1"/);
  });

  it("fails the compile when a var is missing", () => {
    const { raw_dataset: _dropped, ...rest } = base;
    expect(() => loadInclude("constants", rest)).toThrow(/var "raw_dataset" is missing/);
  });
});
