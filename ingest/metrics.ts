// Prometheus metrics for /metrics (prom-client), one registry per service instance.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    eventsAccepted: new Counter({ name: "sightline_events_accepted_total", help: "Events accepted and made durable by the sink.", registers: [registry] }),
    eventsRejected: new Counter({
      name: "sightline_events_rejected_total",
      help: "Events rejected by validation, by reason (the first field at fault, or invalid_json / not_an_object).",
      labelNames: ["reason"],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: "sightline_request_duration_seconds",
      help: "HTTP request latency, to the acknowledgement.",
      labelNames: ["route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    sinkBatchEvents: new Histogram({
      name: "sightline_sink_batch_events",
      help: "Events per sink write (a commit group, or a publish batch).",
      buckets: [1, 10, 100, 500, 1000, 5000, 10000, 50000],
      registers: [registry],
    }),
    sinkSeconds: new Histogram({
      name: "sightline_sink_write_duration_seconds",
      help: "Time for a sink write to become durable.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    sinkCheckpointSeconds: new Histogram({
      name: "sightline_sink_checkpoint_duration_seconds",
      help: "Time the DuckDB sink took to checkpoint the raw dataset (it does when the WAL passes its bound, RAW_CHECKPOINT_BYTES by default; commits wait meanwhile).",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    sinkReopenSeconds: new Histogram({
      name: "sightline_sink_reopen_duration_seconds",
      help: "Time the DuckDB sink took to reopen its file (it does every DUCKDB_REOPEN_EVERY_ROWS rows).",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    inflightBytes: new Gauge({ name: "sightline_inflight_bytes", help: "Request body bytes being processed now.", registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** A small, fixed set of label values: the field an error is about, never the value that broke it. */
export function rejectionLabel(reason: string): string {
  if (reason.startsWith("this line is not valid JSON")) return "invalid_json";
  if (reason.startsWith("each event must be a JSON object")) return "not_an_object";
  const field = reason.split(":")[0] ?? "";
  return ["detection_oid", "video_camera_oid", "geographical_location_oid", "item_name", "timestamp_detected"].includes(field) ? field : "other";
}
