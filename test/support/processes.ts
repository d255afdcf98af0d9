// Sightline processes for system tests and benchmarks: `sightline serve` in a process of its own, and
// what /proc says about a process (RSS, CPU time).
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../stack/pubsub_emulator.ts";

export const CLI = path.join(import.meta.dirname, "..", "..", "cli", "sightline.ts");

/** Resident memory, MiB. */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

/** User + system CPU seconds so far (clock ticks are 100 a second on Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Sends the signal and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ServeOptions {
  env?: Record<string, string>;
  /** Pin the service to one CPU core (taskset), leaving the others to the load. */
  core?: number;
  /** Append the service's JSON log (stdout) to this file instead of discarding it. */
  logFile?: string;
}

/** Starts `sightline serve` on a free loopback port and resolves once /ready answers 200. */
export async function startServe(dbPath: string, options: ServeOptions = {}): Promise<ServeProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const command = [process.execPath, CLI, "serve", "--db", dbPath, "--port", String(port)];
  if (options.core !== undefined) command.unshift("taskset", "-c", String(options.core));
  const stdout = options.logFile ? openSync(options.logFile, "a") : "ignore";
  const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", stdout, "inherit"], env: { ...process.env, LOG_LEVEL: "error", ...options.env } });
  if (typeof stdout === "number") closeSync(stdout);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (let waited = 0; !(await fetch(`${url}/ready`).then((r) => r.ok, () => false)); waited += 100) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sightline serve exited with ${child.exitCode ?? child.signalCode} before it was ready`);
    if (waited > 30_000) throw new Error("sightline serve did not get ready within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    url,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
