// A stand-in for BigQuery's REST API on a loopback port, just enough of datasets and tables for the
// deploy plan's tests: the official client talks to it through `apiEndpoint`, so the tests see the
// exact requests the client sends. State lives in memory; every request is recorded.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
}

export interface FakeBigQuery {
  endpoint: string;
  requests: RecordedRequest[];
  /** Stored resources by "dataset" or "dataset.table". */
  store: Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startFakeBigQuery(): Promise<FakeBigQuery> {
  const requests: RecordedRequest[] = [];
  const store = new Map<string, Record<string, unknown>>();
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0]!;
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      requests.push({ method: req.method!, path, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      const match = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets(?:\/([^/]+)(?:\/tables(?:\/([^/]+))?)?)?$/.exec(path);
      if (!match) return send(400, { error: { code: 400, message: `unexpected path ${path}` } });
      const [, project, dataset, table] = match;
      const collectionOfTables = path.endsWith("/tables");
      if (req.method === "POST") {
        const key = collectionOfTables ? `${dataset}.${(body!.tableReference as { tableId: string }).tableId}` : (body!.datasetReference as { datasetId: string }).datasetId;
        if (store.has(key)) return send(409, { error: { code: 409, message: `Already Exists: ${key}` } });
        store.set(key, { ...body, id: `${project}:${key}` });
        return send(200, store.get(key));
      }
      const key = table ? `${dataset}.${table}` : dataset!;
      const current = store.get(key);
      if (!current) return send(404, { error: { code: 404, message: `Not found: ${key}`, errors: [{ reason: "notFound" }] } });
      if (req.method === "GET") return send(200, current);
      if (req.method === "PATCH") {
        store.set(key, { ...current, ...body });
        return send(200, store.get(key));
      }
      return send(405, { error: { code: 405, message: `${req.method} not supported here` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    store,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
