// The HTTP routes, built without listening: POST /v1/detections, health, readiness, metrics.
// server.ts listens and handles signals; tests call this on an ephemeral port.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { tokenChecker } from "./auth.ts";
import { BatchError, parseJsonArray, parseNdjson, type ValidatedBatch } from "./batch.ts";
import type { IngestConfig } from "./config.ts";
import { traceFields } from "./logging.ts";
import { rejectionLabel, type Metrics } from "./metrics.ts";
import { SinkUnavailableError, type Sink } from "./sinks/sink.ts";
import type { DetectionEvent } from "./event.ts";
import { watchEventLoop } from "./pressure.ts";

export interface AppDependencies {
  config: Pick<IngestConfig, "authTokens" | "maxBodyBytes" | "maxInflightBytes" | "maxEventLoopDelayMs" | "project">;
  sink: Sink;
  logger: Logger;
  metrics: Metrics;
  /** Serves paths the ingest API does not own (the local stack puts its dashboard on the same port). */
  fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<number>;
}

export interface App {
  handler: RequestListener;
  /** Readiness turns false while draining, so load balancers stop sending before the server closes. */
  setDraining(draining: boolean): void;
}

class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads the body, stopping at the limit instead of buffering whatever a client sends. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new HttpError(413, `the body is ${declared} bytes; the limit is ${limit} bytes (8 MiB): split the batch`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new HttpError(413, `the body is over the limit of ${limit} bytes (8 MiB): split the batch`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

function parseBody(contentType: string, body: Buffer): ValidatedBatch {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpError(400, "the body is not valid UTF-8");
  }
  return contentType === "application/x-ndjson" ? parseNdjson(text) : parseJsonArray(text);
}

/** Seconds since the oldest detection of an accepted batch was made: the camera-to-ingest part of the lag. */
function oldestAgeSeconds(events: DetectionEvent[]): number | undefined {
  if (events.length === 0) return undefined;
  let oldest = events[0]!.timestamp_detected;
  for (const event of events) if (event.timestamp_detected < oldest) oldest = event.timestamp_detected;
  return Math.max(0, (Date.now() - Number(oldest)) / 1000);
}

export function createApp({ config, sink, logger, metrics, fallback }: AppDependencies): App {
  const lagOf = new WeakMap<ServerResponse, number | undefined>();
  const authorized = config.authTokens.length > 0 ? tokenChecker(config.authTokens) : () => true;
  let draining = false;
  let inflightBytes = 0;
  const pressure = watchEventLoop(config.maxEventLoopDelayMs);

  async function ingest(req: IncomingMessage, res: ServerResponse, log: Logger): Promise<number> {
    if (!authorized(req.headers.authorization)) {
      throw new HttpError(401, "missing or unknown bearer token: send Authorization: Bearer <token>", { "www-authenticate": 'Bearer realm="sightline"' });
    }
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (contentType !== "application/json" && contentType !== "application/x-ndjson") {
      throw new HttpError(415, `Content-Type must be application/json (an array of events) or application/x-ndjson (one event per line), got "${contentType || "none"}"`);
    }
    if (draining || !sink.isReady()) throw new HttpError(503, "the service is not ready to take events: retry shortly", { "retry-after": "1" });
    const expected = Number(req.headers["content-length"]) || 0;
    if (inflightBytes + expected > config.maxInflightBytes || pressure.overloaded()) {
      throw new HttpError(503, "the service is at capacity: retry shortly", { "retry-after": "1" });
    }
    inflightBytes += expected;
    metrics.inflightBytes.set(inflightBytes);
    try {
      const body = await readBody(req, config.maxBodyBytes);
      const batch = parseBody(contentType, body);
      const started = performance.now();
      await sink.write(batch.events, batch.rejections, batch.source);
      metrics.sinkSeconds.observe((performance.now() - started) / 1000);
      metrics.eventsAccepted.inc(batch.events.length);
      // Only for the request log line, so not computed when that line is not written.
      if (log.isLevelEnabled("info")) lagOf.set(res, oldestAgeSeconds(batch.events));
      for (const r of batch.rejections) metrics.eventsRejected.inc({ reason: rejectionLabel(r.reason) });
      if (batch.rejections.length > 0) log.info({ accepted: batch.events.length, rejected: batch.rejections.length }, "batch partly rejected");
      sendJson(res, 202, {
        accepted: batch.events.length,
        rejected: batch.rejections.length,
        errors: batch.rejections.map((r) => ({ index: r.index, reason: r.reason })),
      });
      return 202;
    } finally {
      inflightBytes -= expected;
      metrics.inflightBytes.set(inflightBytes);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, log: Logger): Promise<number> {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/v1/detections") {
      if (req.method !== "POST") throw new HttpError(405, "use POST to send detections", { allow: "POST" });
      return ingest(req, res, log);
    }
    // Cloud Run's front end swallows paths ending in "z": /health and /ready are the real ones.
    if (path === "/health" || path === "/healthz") {
      sendJson(res, 200, { status: "ok" });
      return 200;
    }
    if (path === "/ready" || path === "/readyz") {
      const ready = !draining && sink.isReady();
      sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready", sink: sink.name });
      return ready ? 200 : 503;
    }
    if (path === "/metrics") {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      res.end(text);
      return 200;
    }
    if (fallback) return fallback(req, res);
    throw new HttpError(404, `no route ${req.method} ${path}: send detections with POST /v1/detections`);
  }

  const handler: RequestListener = (req, res) => {
    const started = performance.now();
    const log = logger.child(traceFields(req.headers["x-cloud-trace-context"] as string | undefined, config.project));
    route(req, res, log)
      .catch((error: unknown) => {
        if (error instanceof HttpError || error instanceof BatchError) {
          const headers = error instanceof HttpError ? error.headers : {};
          if (error.status === 413) headers.connection = "close";
          sendJson(res, error.status, { error: error.message }, headers);
          return error.status;
        }
        if (error instanceof SinkUnavailableError) {
          log.warn({ err: error.message }, "sink unavailable");
          sendJson(res, 503, { error: error.message }, { "retry-after": String(error.retryAfterSeconds) });
          return 503;
        }
        log.error({ err: error }, "request failed");
        sendJson(res, 500, { error: "internal error; the events of this request were not accepted, retry" });
        return 500;
      })
      .then((status) => {
        const seconds = (performance.now() - started) / 1000;
        const routeLabel = (req.url ?? "").startsWith("/v1/detections") ? "/v1/detections" : "other";
        metrics.requestSeconds.observe({ route: routeLabel, status: String(status) }, seconds);
        if (routeLabel === "/v1/detections" || status >= 500) {
          log.info(
            {
              httpRequest: {
                requestMethod: req.method,
                requestUrl: req.url,
                status,
                latency: `${seconds.toFixed(6)}s`,
                requestSize: req.headers["content-length"],
                userAgent: req.headers["user-agent"],
                remoteIp: req.socket.remoteAddress,
              },
              // Production's end-to-end lag alert reads this through a log-based metric (deploy/monitoring.ts).
              detectionLagSeconds: lagOf.get(res),
            },
            "request"
          );
        }
      });
  };

  return {
    handler,
    setDraining(value) {
      draining = value;
      if (draining) pressure.stop();
    },
  };
}
