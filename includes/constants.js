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
  LATE_ID_LOOKUPS: positiveInt("late_id_lookups"),
};
