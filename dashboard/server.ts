// The dashboard's HTTP side: the page, its assets (Chart.js from node_modules: no CDN, works offline)
// and a small JSON API over the read-only queries. The local stack mounts it as the ingest service's
// fallback, so it shares the ingest port; it only ever answers GET and HEAD.
import { readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { z } from "zod";
import type { Database } from "../runner/database.ts";
import { locations, MAX_PAGE_SIZE, overview, realtimeAt, topItems, topItemsOfBusiest } from "./queries.ts";

const PAGE_DIR = path.join(import.meta.dirname, "page");
// chart.js exports no subpath for its UMD build: it sits next to the package's CommonJS entry.
const CHART_JS = path.join(path.dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json; charset=utf-8",
};

/**
 * The only files served, as a map from URL path to file, built once from the page folder's listing: a
 * request path is looked up, never joined onto a directory, so no path (.., %2e%2e, encoded slashes,
 * symlinks added later) can reach another file.
 */
function assetMap(): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(PAGE_DIR, { withFileTypes: true })) {
    if (entry.isFile() && TYPES[path.extname(entry.name)]) files.set(`/assets/${entry.name}`, path.join(PAGE_DIR, entry.name));
  }
  files.set("/assets/chart.umd.min.js", CHART_JS);
  files.set("/", path.join(PAGE_DIR, "index.html"));
  files.set("/index.html", path.join(PAGE_DIR, "index.html"));
  // Browsers ask for the icon at the root whatever the page says.
  files.set("/favicon.svg", path.join(PAGE_DIR, "favicon.svg"));
  files.set("/favicon.ico", path.join(PAGE_DIR, "favicon.svg"));
  return files;
}

const SECURITY_HEADERS = {
  // Scripts and styles only from this origin (no inline script, no CDN); Chart.js draws on canvas.
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const ALLOWED_METHODS = "GET, HEAD";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const oid = z
  .string("required: a geographical_location_oid")
  .regex(/^-?[0-9]{1,19}$/, "a geographical_location_oid (an integer)")
  // Zod runs every check even after one fails: this one leaves text that is no integer to the regex.
  .refine((text) => !/^-?[0-9]+$/.test(text) || (BigInt(text) >= INT64_MIN && BigInt(text) <= INT64_MAX), "a geographical_location_oid within int64")
  .transform((text) => BigInt(text));

const locationQuery = z.object({
  q: z.string().max(200, "at most 200 characters").default(""),
  offset: z.coerce.number("a whole number").int("a whole number").min(0, "0 or more").max(1_000_000, "at most 1,000,000").default(0),
  limit: z.coerce.number("a whole number").int("a whole number").min(1, "at least 1").max(MAX_PAGE_SIZE, `at most ${MAX_PAGE_SIZE} rows`).default(25),
});
const topItemsQuery = z.object({ location: oid.optional() });
const realtimeQuery = z.object({ location: oid });

export interface Dashboard {
  /** Serves one request; resolves with the status sent. */
  handler(req: IncomingMessage, res: ServerResponse): Promise<number>;
  /** Stops answering the API and closes the dashboard's connection once its last query is done. */
  close(): void;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, extra: Record<string, string> = {}): number {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "content-length": Buffer.byteLength(body), ...extra });
  res.end(head ? undefined : body);
  return status;
}

function json(res: ServerResponse, status: number, body: unknown, head: boolean, extra: Record<string, string> = {}): number {
  return send(res, status, "application/json; charset=utf-8", JSON.stringify(body), head, { "cache-control": "no-store", ...extra });
}

/** "limit: at most 100 rows; offset: 0 or more": each problem named by its parameter. */
function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "query"}: ${issue.message}`).join("; ");
}

export function createDashboard({ database }: { database: Database }): Dashboard {
  const files = assetMap();
  // A connection of its own, opened on first use: DuckDB runs one statement at a time per connection,
  // so the page never waits behind a model run (the Transformer has the database's main connection),
  // and a model run never waits behind the page.
  let connection: Promise<DuckDBConnection> | undefined;
  let closed = false;
  // Requests take the one connection in turn.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
    const next = queue.then(async () => work(await (connection ??= database.instance.connect())));
    queue = next.catch(() => undefined);
    return next;
  };

  async function api(route: string, params: URLSearchParams, res: ServerResponse, head: boolean): Promise<number | undefined> {
    const query = Object.fromEntries(params);
    switch (route) {
      case "/api/overview":
        return json(res, 200, await serial((c) => overview(c)), head);
      case "/api/locations": {
        const parsed = locationQuery.safeParse(query);
        if (!parsed.success) return json(res, 400, { error: issues(parsed.error) }, head);
        return json(res, 200, await serial((c) => locations(c, parsed.data)), head);
      }
      case "/api/top-items": {
        const parsed = topItemsQuery.safeParse(query);
        if (!parsed.success) return json(res, 400, { error: issues(parsed.error) }, head);
        const { location } = parsed.data;
        return json(res, 200, await serial((c) => (location === undefined ? topItemsOfBusiest(c) : topItems(c, location))), head);
      }
      case "/api/realtime": {
        const parsed = realtimeQuery.safeParse(query);
        if (!parsed.success) return json(res, 400, { error: issues(parsed.error) }, head);
        return json(res, 200, await serial((c) => realtimeAt(c, parsed.data.location)), head);
      }
      default:
        return undefined;
    }
  }

  async function handler(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      return json(res, 405, { error: `the dashboard is read-only: ${req.method} is not allowed here (detections go to POST /v1/detections)` }, false, { allow: ALLOWED_METHODS });
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://dashboard.invalid");
    } catch {
      return json(res, 400, { error: "the request URL could not be parsed" }, head);
    }
    const route = url.pathname;
    const file = files.get(route);
    if (file) {
      // Read on each request (they are small), so an edited page shows on reload; revalidated, not stored.
      const body = await readFile(file).catch(() => undefined);
      if (body === undefined) return json(res, 404, { error: `${route} is listed but its file is gone: restart the dashboard` }, head);
      return send(res, 200, TYPES[path.extname(file)] ?? "application/octet-stream", body, head, { "cache-control": "no-cache" });
    }
    if (route.startsWith("/api/")) {
      if (closed) return json(res, 503, { error: "the dashboard is shutting down" }, head);
      try {
        const status = await api(route, url.searchParams, res, head);
        if (status !== undefined) return status;
      } catch (error) {
        return json(res, 500, { error: `the dashboard could not read the models: ${(error as Error).message}` }, head);
      }
    }
    return json(res, 404, { error: `nothing at ${route}: the dashboard is at /, its API at /api/overview, /api/locations, /api/top-items, /api/realtime` }, head);
  }

  return {
    handler,
    close() {
      if (closed) return;
      closed = true;
      // Never close the connection under a running query: after the queue drains (nothing joins it now).
      void queue.then(async () => (await connection)?.closeSync()).catch(() => undefined);
    },
  };
}
