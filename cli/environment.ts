// The CLI's environment, read once and checked: the only place that reads process.env.
import { z } from "zod";

const schema = z.object({
  SIGHTLINE_DB: z.string().min(1).optional(),
  SIGHTLINE_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, "a size such as 3GB")
    .optional(),
});

export const DEFAULT_DB = "./data/sightline.duckdb";

export function readEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid environment:\n${lines.join("\n")}`);
  }
  return Object.freeze(parsed.data);
}

/** The environment for components that parse their own (the ingest service's config.ts). */
export function processEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}
