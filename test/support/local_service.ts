// The ingest service as the tests start it: local mode (DuckDB sink) on a loopback port, its own
// temporary database file, quiet unless given a logger. `stop` closes it and removes the file.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import { loadConfig } from "../../ingest/config.ts";
import { createLogger } from "../../ingest/logging.ts";
import { startService, type Service } from "../../ingest/service.ts";

export interface LocalService {
  service: Service;
  stop(): Promise<void>;
}

export async function startLocalService(env: Record<string, string> = {}, logger: Logger = createLogger("silent")): Promise<LocalService> {
  const dir = await mkdtemp(path.join(tmpdir(), "sightline-service-"));
  const config = loadConfig({ SIGHTLINE_LOCAL: "true", PORT: "0", HOST: "127.0.0.1", SIGHTLINE_DB: path.join(dir, "w.duckdb"), ...env });
  const service = await startService(config, { logger });
  return {
    service,
    async stop() {
      await service.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
