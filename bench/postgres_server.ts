// A throw-away PostgreSQL 15 server for the benchmarks' peer: Debian's binaries, a fresh data directory
// in /tmp, loopback only, durable commits (fsync and synchronous_commit on, as a production peer would
// run). PostgreSQL refuses to run as root, so when the suite runs as root the server runs as `postgres`.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "../stack/pubsub_emulator.ts";

const BIN = "/usr/lib/postgresql/15/bin";
export const POSTGRES_AVAILABLE = existsSync(`${BIN}/postgres`);

export interface PostgresServer {
  child: ChildProcess;
  config: pg.ClientConfig;
  version: string;
  /** Resident memory of all the server's processes, MiB (PostgreSQL forks a backend per connection). */
  rssMiB(): number;
  stop(): Promise<void>;
}

function asPostgres(command: string, args: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", command, ...args] : [command, ...args];
}

export async function startPostgres(settings: Record<string, string> = {}): Promise<PostgresServer> {
  if (!POSTGRES_AVAILABLE) throw new Error(`PostgreSQL 15 is not installed (${BIN}): apt-get install -y postgresql-15`);
  const dir = mkdtempSync(path.join(tmpdir(), "sightline-pg-"));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
    chownSync(dir, uid, gid);
  }
  const data = path.join(dir, "data");
  const [initdb, ...initArgs] = asPostgres(`${BIN}/initdb`, ["-D", data, "-U", "bench", "--auth=trust", "--no-instructions", "-E", "UTF8", "--locale=C"]);
  execFileSync(initdb!, initArgs, { stdio: "ignore" });
  const port = await freePort();
  const options = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    fsync: "on",
    synchronous_commit: "on",
    shared_buffers: "1GB",
    work_mem: "256MB",
    maintenance_work_mem: "1GB",
    max_wal_size: "8GB",
    ...settings,
  };
  const [postgres, ...args] = asPostgres(`${BIN}/postgres`, ["-D", data, "-p", String(port), ...Object.entries(options).flatMap(([k, v]) => ["-c", `${k}=${v}`])]);
  const child = spawn(postgres!, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (chunk) => (log = (log + chunk).slice(-4000)));
  const config: pg.ClientConfig = { host: "127.0.0.1", port, user: "bench", database: "postgres" };
  for (let waited = 0; ; waited += 100) {
    const client = new pg.Client(config);
    try {
      await client.connect();
      const { rows } = await client.query("show server_version");
      await client.end();
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      // A suite that fails half-way must not leave a server behind (runuser does not pass signals on).
      const postmaster = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      const leftBehind = () => {
        try {
          process.kill(postmaster, "SIGQUIT");
        } catch {
          // already gone
        }
      };
      process.once("exit", leftBehind);
      return {
        child,
        config,
        version: rows[0].server_version as string,
        rssMiB() {
          // The postmaster's pid is the first line of postmaster.pid; its children are the backends.
          const postmaster = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
          let children: number[] = [];
          try {
            children = execFileSync("pgrep", ["-P", String(postmaster)], { encoding: "utf8" }).trim().split("\n").map(Number);
          } catch {
            // No children right now.
          }
          let total = 0;
          for (const pid of [postmaster, ...children]) {
            try {
              total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
            } catch {
              // A backend that exited between the listing and the read.
            }
          }
          return total;
        },
        async stop() {
          process.off("exit", leftBehind);
          process.kill(postmaster, "SIGINT"); // fast shutdown
          await exited;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      await client.end().catch(() => undefined);
      if (child.exitCode !== null || waited > 30_000) throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
