// Human-readable lines for a model run: one per action, then a summary.
import type { ActionResult } from "../runner/execute.ts";
import type { RunReport } from "../runner/transform.ts";

function rowsText(result: ActionResult): string {
  if (result.kind === "assertion") return result.violations ? `${result.violations.count} violating row(s)` : "passed";
  if (result.rows === undefined) return "";
  const changed = result.mode === "create" ? "" : `+${result.rowsChanged ?? 0} `;
  return `${changed}${result.rows} rows`;
}

export function actionLine(result: ActionResult): string {
  const status = result.status === "ok" ? "ok  " : result.status === "failed" ? "FAIL" : "skip";
  const mode = result.mode ?? result.kind;
  return `${status} ${mode.padEnd(9)} ${result.name.padEnd(58)} ${rowsText(result).padEnd(24)} ${Math.round(result.durationMs)} ms`;
}

export function summaryLine(report: RunReport): string {
  const failed = report.actions.filter((a) => a.status === "failed").length + report.tests.filter((t) => t.status === "failed").length;
  const assertions = report.actions.filter((a) => a.kind === "assertion");
  const passed = assertions.filter((a) => a.status === "ok").length;
  const tests = report.tests.length ? `, ${report.tests.filter((t) => t.status === "ok").length}/${report.tests.length} unit tests passed` : "";
  return `${report.ok ? "run ok" : `run FAILED (${failed} failure${failed === 1 ? "" : "s"})`}: ${report.actions.length} actions in ${Math.round(report.durationMs)} ms, ${passed}/${assertions.length} assertions passed${tests}${report.compiled ? " (compiled)" : ""}`;
}

export function failureLines(report: RunReport): string[] {
  return [...report.actions.filter((a) => a.error && a.status === "failed").map((a) => a.error!), ...report.tests.filter((t) => t.error).map((t) => t.error!)];
}
