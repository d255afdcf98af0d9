// The command the Cloud Run image starts, read from the Dockerfile's CMD, so what runs the service
// elsewhere (the ingest benchmark, the image test) starts it with the same Node flags.
import { readFileSync } from "node:fs";
import path from "node:path";

const DOCKERFILE = path.resolve(import.meta.dirname, "..", "Dockerfile");

/** The CMD's exec form, e.g. ["node", "--max-semi-space-size=32", "ingest/server.ts"]. */
export function imageCommand(): string[] {
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(DOCKERFILE, "utf8"))?.[1];
  if (!cmd) throw new Error(`${DOCKERFILE} has no CMD in exec form`);
  return JSON.parse(cmd) as string[];
}

/** The Node flags of that command: what comes between `node` and the script. */
export function imageNodeFlags(): string[] {
  const [program, ...args] = imageCommand();
  if (program !== "node") throw new Error(`the Dockerfile's CMD starts ${program}, not node`);
  return args.slice(0, -1);
}
