// Project-wide settings, read once from workflow_settings.yaml vars (override with --vars=name=value).
// Vars arrive as strings; numbers are checked here so a typo fails the compile, not a run.
const vars = dataform.projectConfig.vars || {};

function required(name) {
  const value = vars[name];
  if (value === undefined || value === "") {
    throw new Error(`workflow_settings.yaml var "${name}" is missing`);
  }
  return String(value);
}

function positiveInt(name) {
  const text = required(name);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`var "${name}" must be a positive integer, got "${text}"`);
  }
  return value;
}

function nonNegativeInt(name) {
  const text = required(name);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`var "${name}" must be a whole number, 0 or more, got "${text}"`);
  }
  return value;
}

module.exports = {
  RAW_DATASET: required("raw_dataset"),
  LOCATIONS_URI: required("locations_uri"),
  LATE_ARRIVAL_SECONDS: positiveInt("late_arrival_seconds"),
  DEDUP_WINDOW_SECONDS: positiveInt("dedup_window_days") * 24 * 3600,
  TOP_X: positiveInt("top_x"),
  MAX_PROCESSING_DELAY_SECONDS: positiveInt("max_processing_delay_minutes") * 60,
  // Event lag is kept as a histogram so hourly percentiles can be merged run after run;
  // buckets grow by e^(1/20) (~5%), which bounds the error of lag p50/p95.
  LAG_BUCKETS_PER_E: 20,
  // A copy published more than LATE_AFTER_SECONDS after its detection is late: it is resolved in the
  // next sweep, once the LATE_SWEEP_SECONDS slot it was published in has closed (includes/late_copies.js).
  LATE_AFTER_SECONDS: positiveInt("late_after_seconds"),
  LATE_SWEEP_SECONDS: positiveInt("late_sweep_seconds"),
  LATE_SWEEP_MIN_ROWS: nonNegativeInt("late_sweep_min_rows"),
};
