// The dashboard's HTTP side: the page, its assets (Chart.js from node_modules: no CDN, works offline)
// and a small JSON API over the read-only queries. It only ever answers GET and HEAD.
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { z } from "zod";
import type { Database } from "../runner/database.ts";
import { locations, overview, realtimeAt, topItems } from "./queries.ts";

const PAGE_DIR = path.join(import.meta.dirname, "page");
// chart.js does not export its UMD build by name: find it next to the package's CommonJS entry.
const CHART_JS = path.join(path.dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js");

/** The only files served: a fixed map, so no request path ever reaches the file system. */
const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: path.join(PAGE_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: path.join(PAGE_DIR, "app.js"), type: "text/javascript; charset=utf-8" },
  "/assets/style.css": { file: path.join(PAGE_DIR, "style.css"), type: "text/css; charset=utf-8" },
  "/assets/chart.umd.min.js": { file: CHART_JS, type: "text/javascript; charset=utf-8" },
  "/favicon.svg": { file: path.join(PAGE_DIR, "favicon.svg"), type: "image/svg+xml" },
};

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const locationQuery = z.object({
  q: z.string().max(200, "q: at most 200 characters").default(""),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(100, "limit: at most 100 rows").default(25),
});

const oneLocation = z.object({
  location: z.string().regex(/^-?[0-9]{1,19}$/, "location: a geographical_location_oid (an integer)"),
});

export interface Dashboard {
  /** Serves one request; resolves with the status sent. */
  handler(req: IncomingMessage, res: ServerResponse): Promise<number>;
  close(): void;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, extra: Record<string, string> = {}): number {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...SECURITY_HEADERS, ...extra });
  res.end(head ? undefined : body);
  return status;
}

function json(res: ServerResponse, status: number, body: unknown, head: boolean): number {
  return send(res, status, "application/json; charset=utf-8", JSON.stringify(body), head, { "cache-control": "no-store" });
}

function queryParams(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(new URL(req.url ?? "/", "http://dashboard").searchParams);
}

export function createDashboard({ database }: { database: Database }): Dashboard {
  // A connection of its own, opened on first use: DuckDB runs one query at a time per connection,
  // and the models' runs must not wait behind a page refresh (nor the page behind a run).
  let connection: Promise<DuckDBConnection> | undefined;
  const reader = () => (connection ??= database.instance.connect());
  // Requests share the one connection in turn.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
    const next = queue.then(async () => work(await reader()));
    queue = next.catch(() => undefined);
    return next;
  };
  const files = new Map<string, Buffer>();

  async function handler(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      return json(res, 405, { error: `the dashboard is read-only: ${req.method} is not allowed here (detections go to POST /v1/detections)` }, false);
    }
    const route = (req.url ?? "/").split("?")[0]!;
    const asset = ASSETS[route] ?? (route === "/index.html" ? ASSETS["/"] : undefined);
    if (asset) {
      let body = files.get(asset.file);
      if (!body) files.set(asset.file, (body = await readFile(asset.file)));
      return send(res, 200, asset.type, body, head, { "cache-control": "no-cache" });
    }
    try {
      if (route === "/api/overview") return json(res, 200, await serial(overview), head);
      if (route === "/api/locations") {
        const parsed = locationQuery.safeParse(queryParams(req));
        if (!parsed.success) return json(res, 400, { error: parsed.error.issues.map((i) => i.message).join("; ") }, head);
        const { q, offset, limit } = parsed.data;
        return json(res, 200, await serial((c) => locations(c, q, offset, limit)), head);
      }
      if (route === "/api/top-items") {
        const parsed = oneLocation.safeParse(queryParams(req));
        if (!parsed.success) return json(res, 400, { error: parsed.error.issues.map((i) => i.message).join("; ") }, head);
        return json(res, 200, await serial((c) => topItems(c, BigInt(parsed.data.location))), head);
      }
      if (route === "/api/realtime") {
        const parsed = oneLocation.safeParse(queryParams(req));
        if (!parsed.success) return json(res, 400, { error: parsed.error.issues.map((i) => i.message).join("; ") }, head);
        return json(res, 200, await serial((c) => realtimeAt(c, BigInt(parsed.data.location))), head);
      }
    } catch (error) {
      return json(res, 500, { error: `the dashboard could not read the models: ${(error as Error).message}` }, head);
    }
    return json(res, 404, { error: `no page ${route}: the dashboard is at /` }, head);
  }

  return {
    handler,
    close() {
      void connection?.then((c) => c.closeSync());
    },
  };
}
