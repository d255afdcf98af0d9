// Structured logs in Cloud Logging's shape: `severity` instead of pino's numeric level, `message` as
// the message key, and the request's trace on each request's log line. Payloads are never logged.
import { pino, type Logger } from "pino";

const SEVERITY: Record<string, string> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      messageKey: "message",
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT" }),
      },
    },
    destination
  );
}

/** `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` → the field Cloud Logging groups a request's lines by. */
export function traceFields(header: string | undefined, project: string): Record<string, string> {
  if (!header || !project) return {};
  const trace = header.split("/")[0];
  if (!trace || !/^[0-9a-f]{32}$/i.test(trace)) return {};
  return { "logging.googleapis.com/trace": `projects/${project}/traces/${trace}` };
}
