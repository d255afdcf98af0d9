// Entry point on Cloud Run (`node ingest/server.ts`): listen on $PORT, drain on SIGTERM within ~10 s.
import { ConfigError, loadConfig } from "./config.ts";
import { startService } from "./service.ts";

const SHUTDOWN_DEADLINE_MS = 9_000;

try {
  const config = loadConfig(process.env);
  const service = await startService(config);
  const stop = (signal: string) => {
    service.logger.info({ signal }, "draining");
    // Cloud Run kills the container 10 s after SIGTERM: leave before that whatever happens.
    setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        service.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      }
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
