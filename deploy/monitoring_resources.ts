// What tells the on-call engineer that production needs them: Cloud Monitoring alert policies, and
// the two log-based metrics they need (Dataform and the ingest service report these in logs only).
// Bodies are the Monitoring API's AlertPolicy and the Logging API's LogMetric. Each policy's
// documentation says what fired and where to look first.
import { DATAFORM_REPOSITORY, INGEST_SERVICE, RAW_DEAD_LETTER_SUBSCRIPTION, RAW_SUBSCRIPTION } from "./names.ts";
import type { Resource } from "./plan.ts";

export interface MonitoringConfig {
  project: string;
  /** Existing notification channels ("projects/P/notificationChannels/N") every policy notifies. */
  notificationChannels?: string[];
}

export const DATAFORM_SUCCEEDED_METRIC = "sightline_dataform_realtime_succeeded";
export const DETECTION_LAG_METRIC = "sightline_detection_lag";

const minutes = (n: number) => ({ seconds: n * 60 });

export function logMetricResources(config: MonitoringConfig): Resource[] {
  const dataformCompletions = `resource.type="dataform.googleapis.com/Repository" AND resource.labels.repository_id="${DATAFORM_REPOSITORY}" AND logName="projects/${config.project}/logs/dataform.googleapis.com%2Fworkflow_invocation_completion"`;
  return [
    {
      kind: "logging.metric",
      name: DATAFORM_SUCCEEDED_METRIC,
      body: {
        description: "Successful runs of Sightline's real-time Dataform workflow (detection_events), one per run.",
        filter: `${dataformCompletions} AND labels.workflow_config_id="realtime" AND jsonPayload.terminalState="SUCCEEDED"`,
        metricDescriptor: { metricKind: "DELTA", valueType: "INT64", unit: "1" },
      },
    },
    {
      kind: "logging.metric",
      name: DETECTION_LAG_METRIC,
      body: {
        description: "Seconds from the oldest detection of each accepted batch to its acceptance by the ingest service (camera → ingest).",
        filter: `resource.type="cloud_run_revision" AND resource.labels.service_name="${INGEST_SERVICE}" AND jsonPayload.message="request" AND jsonPayload.detectionLagSeconds>=0`,
        valueExtractor: "EXTRACT(jsonPayload.detectionLagSeconds)",
        metricDescriptor: { metricKind: "DELTA", valueType: "DISTRIBUTION", unit: "s" },
        // 0.1 s to ~20 hours in 32 buckets of 1.5×.
        bucketOptions: { exponentialBuckets: { numFiniteBuckets: 32, growthFactor: 1.5, scale: 0.1 } },
      },
    },
  ];
}

interface Condition {
  displayName: string;
  [kind: string]: unknown;
}

export function alertPolicyResources(config: MonitoringConfig): Resource[] {
  const subscription = (id: string) => `resource.type="pubsub_subscription" AND resource.labels.subscription_id="${id}"`;
  const dataformFailed = `resource.type="dataform.googleapis.com/Repository" AND resource.labels.repository_id="${DATAFORM_REPOSITORY}" AND jsonPayload.terminalState="FAILED"`;
  const policy = (displayName: string, severity: string, runbook: string, condition: Condition): Resource => ({
    kind: "monitoring.alertPolicy",
    name: displayName,
    body: {
      displayName,
      combiner: "OR",
      conditions: [condition],
      severity,
      documentation: { content: runbook, mimeType: "text/markdown" },
      notificationChannels: config.notificationChannels ?? [],
      // Log-match conditions need a notification rate limit; every policy closes itself when quiet.
      alertStrategy: { autoClose: minutes(24 * 60), ...("conditionMatchedLog" in condition ? { notificationRateLimit: { period: minutes(5) } } : {}) },
      enabled: { value: true },
    },
  });
  const threshold = (filter: string, value: number, options: { aligner: string; period?: number; duration?: number; comparison?: string; extra?: Record<string, unknown> }) => ({
    filter,
    comparison: options.comparison ?? "COMPARISON_GT",
    thresholdValue: value,
    duration: minutes(options.duration ?? 0),
    aggregations: [{ alignmentPeriod: minutes(options.period ?? 1), perSeriesAligner: options.aligner }],
    trigger: { count: 1 },
    ...options.extra,
  });
  const requests = `resource.type="cloud_run_revision" AND resource.labels.service_name="${INGEST_SERVICE}" AND metric.type="run.googleapis.com/request_count"`;
  return [
    policy("Sightline: raw events waiting over 2 minutes", "ERROR", "The BigQuery subscription `raw-detections-bigquery` has not written a message for over 2 minutes: dashboards fall behind. Check the subscription's state and the raw table's quota in the Pub/Sub console.", {
      displayName: "oldest unacknowledged message older than 120 s",
      conditionThreshold: threshold(`${subscription(RAW_SUBSCRIPTION)} AND metric.type="pubsub.googleapis.com/subscription/oldest_unacked_message_age"`, 120, { aligner: "ALIGN_MAX", duration: 1 }),
    }),
    policy("Sightline: events dead-lettered", "ERROR", `BigQuery refused a message 5 times and Pub/Sub moved it to \`raw-detections-dead-letters\`. Read it from the subscription \`${RAW_DEAD_LETTER_SUBSCRIPTION}\` (kept a week), fix the cause, republish it to \`raw-detections\`.`, {
      displayName: "any message dead-lettered",
      conditionThreshold: threshold(`${subscription(RAW_SUBSCRIPTION)} AND metric.type="pubsub.googleapis.com/subscription/dead_letter_message_count"`, 0, { aligner: "ALIGN_SUM" }),
    }),
    policy("Sightline: BigQuery subscription not active", "CRITICAL", "The BigQuery subscription cannot write the raw table (permission denied, table missing or schema mismatch). Its state is on the subscription's page; `sightline deploy` repairs grants and the table.", {
      displayName: "subscription state other than active",
      conditionThreshold: threshold(
        `${subscription(RAW_SUBSCRIPTION)} AND metric.type="pubsub.googleapis.com/subscription/export_push_subscription_details" AND NOT metric.labels.subscription_state=monitoring.regex.full_match("(?i)active")`,
        0,
        { aligner: "ALIGN_MAX", duration: 5 }
      ),
    }),
    policy("Sightline: Dataform run failed", "ERROR", "A scheduled Dataform workflow (real-time, hourly or Dataset B) failed; a failing model assertion fails its workflow too. The invocation's page in Dataform names the failed action and its error.", {
      displayName: "workflow invocation FAILED",
      conditionMatchedLog: { filter: `${dataformFailed} AND NOT labels.workflow_config_id="weekly-checks"` },
    }),
    policy("Sightline: no successful Dataform run for 15 minutes", "CRITICAL", "The real-time workflow (every 5 minutes) has not succeeded for 15 minutes: detection_events and the rollups are going stale. Check the release configuration's latest compilation and the workflow's invocations.", {
      displayName: "no real-time success in 15 min",
      conditionAbsent: {
        filter: `metric.type="logging.googleapis.com/user/${DATAFORM_SUCCEEDED_METRIC}" AND resource.type="dataform.googleapis.com/Repository"`,
        duration: minutes(15),
        aggregations: [{ alignmentPeriod: minutes(5), perSeriesAligner: "ALIGN_SUM" }],
        trigger: { count: 1 },
      },
    }),
    policy("Sightline: assertion failed", "WARNING", "A cross-table data-quality assertion (the weekly `checks` workflow) found rows. The assertion's view in `detections_assertions` lists them.", {
      displayName: "weekly checks FAILED",
      conditionMatchedLog: { filter: `${dataformFailed} AND labels.workflow_config_id="weekly-checks"` },
    }),
    policy("Sightline: ingest 5xx rate over 1 %", "ERROR", "Over 1 % of requests to the ingest service fail with 5xx for 5 minutes. 503s are load shedding (scale up: max instances, MAX_INFLIGHT_BYTES) or Pub/Sub unavailable; the service's logs say which.", {
      displayName: "5xx share of requests above 1 %",
      conditionThreshold: threshold(`${requests} AND metric.labels.response_code_class="5xx"`, 0.01, {
        aligner: "ALIGN_RATE",
        duration: 5,
        extra: { denominatorFilter: requests, denominatorAggregations: [{ alignmentPeriod: minutes(1), perSeriesAligner: "ALIGN_RATE" }] },
      }),
    }),
    policy("Sightline: end-to-end lag over 60 s", "ERROR", "The 95th percentile of detection age at ingest has been over a minute for 5 minutes: cameras send late or retry a lot (check their clocks and the 503 rate). The Pub/Sub part of the lag is the raw-backlog policy's.", {
      displayName: "p95 detection age at ingest above 60 s",
      conditionThreshold: threshold(`metric.type="logging.googleapis.com/user/${DETECTION_LAG_METRIC}" AND resource.type="cloud_run_revision"`, 60, { aligner: "ALIGN_PERCENTILE_95", period: 5, duration: 5 }),
    }),
  ];
}
