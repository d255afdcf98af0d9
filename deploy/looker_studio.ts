// The Looker Studio report on the models, as a Linking API URL: opening it creates the report (from a
// template, or Looker Studio's blank one) with its data sources pointed at the BigQuery models.
// Nothing is called here: the URL is the whole interface, and it carries no secret.

/** The report's data sources: alias → model (dataset `detections`). A template report must use these aliases. */
export const REPORT_SOURCES = {
  realtime: { table: "detection_events_enriched", name: "Sightline · detections (real time)" },
  hourly: { table: "detection_counts_hourly", name: "Sightline · detections per hour" },
  top: { table: "top_items_by_location", name: "Sightline · top items per location" },
  quality: { table: "pipeline_quality_hourly", name: "Sightline · data quality per hour" },
} as const;

export type SourceAlias = keyof typeof REPORT_SOURCES;

/** Looker Studio's blank report has a single data source, named ds0. */
const BLANK_REPORT_ALIAS = "ds0";

export interface ReportLinkOptions {
  project: string;
  dataset?: string;
  /** Project billed for the report's queries (defaults to `project`). */
  billingProject?: string;
  /** A report whose data sources use the aliases in REPORT_SOURCES; without it, a blank report on the real-time model. */
  templateReportId?: string;
  reportName?: string;
}

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
const REPORT_ID = /^[A-Za-z0-9_-]{8,100}$/;

export function reportLink(options: ReportLinkOptions): string {
  const dataset = options.dataset ?? "detections";
  const billing = options.billingProject ?? options.project;
  for (const [label, value] of [["project", options.project], ["billing project", billing]] as const) {
    if (!PROJECT_ID.test(value)) throw new Error(`${label} "${value}" is not a Google Cloud project id (6–30 lowercase letters, digits and hyphens)`);
  }
  if (!DATASET_ID.test(dataset)) throw new Error(`dataset "${dataset}" is not a BigQuery dataset id (letters, digits, underscores)`);
  if (options.templateReportId !== undefined && !REPORT_ID.test(options.templateReportId)) {
    throw new Error(`template report id "${options.templateReportId}" does not look like a Looker Studio report id (from its URL: /reporting/<id>)`);
  }
  const params = new URLSearchParams();
  if (options.templateReportId) params.set("c.reportId", options.templateReportId);
  params.set("r.reportName", options.reportName ?? "Sightline · camera detections");
  const sources: Array<[string, { table: string; name: string }]> = options.templateReportId
    ? Object.entries(REPORT_SOURCES)
    : [[BLANK_REPORT_ALIAS, REPORT_SOURCES.realtime]];
  for (const [alias, source] of sources) {
    const prefix = `ds.${alias}`;
    params.set(`${prefix}.connector`, "bigQuery");
    params.set(`${prefix}.type`, "TABLE");
    params.set(`${prefix}.projectId`, options.project);
    params.set(`${prefix}.billingProjectId`, billing);
    params.set(`${prefix}.datasetId`, dataset);
    params.set(`${prefix}.tableId`, source.table);
    params.set(`${prefix}.datasourceName`, source.name);
  }
  return `https://lookerstudio.google.com/reporting/create?${params.toString()}`;
}
