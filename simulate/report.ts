// The simulator's progress line and end-of-run summary, shared by `sightline simulate` and `sightline up`.
import type { Progress, SendSummary } from "./sender.ts";

const n = (value: number) => Math.round(value).toLocaleString("en");

export function progressLine(p: Progress): string {
  const trouble = p.retries || p.failedRequests ? `, ${n(p.retries)} retries, ${n(p.failedRequests)} failed requests` : "";
  return `simulate ${p.elapsedSeconds.toFixed(0).padStart(4)} s: ${n(p.sent)} sent, ${n(p.accepted)} accepted, ${n(p.rejected)} rejected, ${n(p.rate)} events/s${trouble}`;
}

export function summaryLines(s: SendSummary): string[] {
  return [
    `simulated ${s.seconds.toFixed(1)} s at ${n(s.achievedRate)} events/s: ${n(s.sent)} sent, ${n(s.accepted)} accepted, ${n(s.rejected)} rejected`,
    `  ${n(s.originals)} detections (${n(s.late)} late, ${n(s.unknownLocation)} at unknown locations), ${n(s.copies)} copies (${n(s.conflicting)} conflicting), ${n(s.invalid)} invalid`,
    `  ${n(s.pendingCopies)} copies not yet due were not sent; acknowledgement latency p50 ${s.latencyMs.p50.toFixed(1)} ms, p99 ${s.latencyMs.p99.toFixed(1)} ms`,
    ...(s.retries || s.failedRequests ? [`  ${n(s.retries)} retries, ${n(s.failedRequests)} failed requests (${n(s.unacknowledged)} events never acknowledged)`] : []),
  ];
}
