// A throw-away copy of the Dataform project, so a test can edit SQLX without touching the real one.
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PROJECT_DIR } from "../../runner/compile.ts";

export interface ProjectCopy {
  dir: string;
  remove(): Promise<void>;
}

export async function copyProject(): Promise<ProjectCopy> {
  const dir = await mkdtemp(path.join(tmpdir(), "sightline-project-"));
  for (const entry of ["definitions", "includes", "workflow_settings.yaml", "package.json"]) {
    await cp(path.join(PROJECT_DIR, entry), path.join(dir, entry), { recursive: true });
  }
  // Dataform's sandbox only loads modules from inside the project: copy @dataform/core (no dependencies).
  await cp(path.join(PROJECT_DIR, "node_modules", "@dataform", "core"), path.join(dir, "node_modules", "@dataform", "core"), { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
