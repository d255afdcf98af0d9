// What a check found: where (action, file), what kind of statement, and what to change.
export interface Finding {
  action: string;
  fileName: string;
  message: string;
}

export function formatFindings(findings: Finding[]): string {
  return findings.map((f) => `${f.fileName} (${f.action}): ${f.message}`).join("\n");
}
