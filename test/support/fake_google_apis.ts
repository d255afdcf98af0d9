// A stand-in for the Google Cloud REST APIs the deploy plan calls (Dataform, IAM, Resource Manager,
// Secret Manager, Cloud Logging, Cloud Monitoring, Cloud Storage's JSON API) on one loopback port.
// The official clients reach it through their endpoint options, so tests see the exact requests they
// send. It keeps resources by name the way these APIs do (create under a collection with an id, get,
// list, patch with an update mask, IAM policies with etags); state lives in memory.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCall {
  method: string;
  /** The path without the API version, e.g. "projects/p/alertPolicies". */
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export interface Policy {
  bindings?: Array<{ role: string; members: string[] }>;
  etag?: string;
}

export interface FakeGoogleApis {
  endpoint: string;
  /** host:port, for clients that take a host and a port. */
  host: string;
  port: number;
  calls: RecordedCall[];
  /** Resources by name ("projects/p/locations/r/repositories/x/releaseConfigs/production", "b/bucket", …). */
  resources: Map<string, Record<string, unknown>>;
  /** Uploaded objects' bytes by "bucket/object". */
  objects: Map<string, Buffer>;
  policies: Map<string, Policy>;
  /** Writes, i.e. calls other than reads. */
  writes(): RecordedCall[];
  close(): Promise<void>;
}

export const FAKE_PROJECT_NUMBER = "123456789012";

// "/v1/…", "/v1beta1/…", and BigQuery's "/bigquery/v2/…".
const VERSION = /^\/(?:bigquery\/)?(?:v\d+(?:beta\d+)?\/)/;

class HttpError extends Error {
  readonly code: number;
  readonly status: string;
  constructor(code: number, message: string, status: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const notFound = (name: string) => new HttpError(404, `Resource '${name}' was not found`, "NOT_FOUND");

function idFromQuery(query: URLSearchParams): string | undefined {
  for (const [key, value] of query) if (key.endsWith("Id") && key !== "projectId") return value;
  return undefined;
}

export async function startFakeGoogleApis(): Promise<FakeGoogleApis> {
  const calls: RecordedCall[] = [];
  const resources = new Map<string, Record<string, unknown>>();
  const objects = new Map<string, Buffer>();
  const policies = new Map<string, Policy>();
  let generated = 0;
  let etags = 0;

  function getPolicy(name: string): Policy {
    return policies.get(name) ?? { bindings: [], etag: "BwAAAA==" };
  }
  function setPolicy(name: string, policy: Policy): Policy {
    const current = policies.get(name);
    if (current && policy.etag && policy.etag !== current.etag) throw new HttpError(409, "There were concurrent policy changes", "ABORTED");
    // Base64, as etags are bytes on the wire.
    const stored = { ...policy, etag: Buffer.from(`etag-${++etags}`).toString("base64") };
    policies.set(name, stored);
    return stored;
  }

  /** Cloud Storage's JSON API: buckets, their IAM policies, and objects (multipart uploads). */
  function storage(method: string, path: string, query: URLSearchParams, raw: Buffer, contentType: string): unknown {
    let match: RegExpExecArray | null;
    if (path === "/storage/v1/b" && method === "POST") {
      const body = JSON.parse(raw.toString()) as Record<string, unknown>;
      const key = `b/${body.name as string}`;
      if (resources.has(key)) throw new HttpError(409, "Your previous request to create the named bucket succeeded and you already own it.", "CONFLICT");
      resources.set(key, { ...body, kind: "storage#bucket", projectNumber: FAKE_PROJECT_NUMBER });
      return resources.get(key);
    }
    if ((match = /^\/storage\/v1\/b\/([^/]+)\/iam$/.exec(path))) {
      const key = `b/${match[1]}`;
      if (!resources.has(key)) throw notFound(key);
      return method === "PUT" ? setPolicy(key, JSON.parse(raw.toString()) as Policy) : getPolicy(key);
    }
    if ((match = /^\/storage\/v1\/b\/([^/]+)$/.exec(path))) {
      const key = `b/${match[1]}`;
      const current = resources.get(key);
      if (!current) throw notFound(key);
      if (method === "PATCH") resources.set(key, { ...current, ...(JSON.parse(raw.toString()) as Record<string, unknown>) });
      return resources.get(key);
    }
    if ((match = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && method === "POST") {
      if (!resources.has(`b/${match[1]}`)) throw notFound(`b/${match[1]}`);
      // multipart/related: a JSON metadata part, then the object's bytes.
      const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
      if (!boundary) throw new HttpError(400, "only multipart uploads here", "INVALID_ARGUMENT");
      const parts = splitMultipart(raw, boundary);
      const metadata = JSON.parse(parts[0]!.toString()) as Record<string, unknown>;
      const name = (metadata.name as string | undefined) ?? query.get("name")!;
      const bytes = parts[1]!;
      const key = `${match[1]}/${name}`;
      objects.set(key, bytes);
      const object = { ...metadata, name, bucket: match[1], size: String(bytes.length), md5Hash: createHash("md5").update(bytes).digest("base64"), generation: String(++generated) };
      resources.set(`o/${key}`, object);
      return object;
    }
    if ((match = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(path)) && method === "GET") {
      const key = `o/${match[1]}/${decodeURIComponent(match[2]!)}`;
      const object = resources.get(key);
      if (!object) throw notFound(key);
      return object;
    }
    throw new HttpError(400, `unexpected storage call ${method} ${path}`, "INVALID_ARGUMENT");
  }

  function resource(method: string, path: string, query: URLSearchParams, body: Record<string, unknown> | undefined): unknown {
    const [name, verb] = path.split(":") as [string, string | undefined];
    if (verb === "getIamPolicy") return getPolicy(name);
    if (verb === "setIamPolicy") return setPolicy(name, (body!.policy ?? {}) as Policy);
    if (verb) throw new HttpError(400, `unexpected method :${verb}`, "INVALID_ARGUMENT");
    const segments = name.split("/");
    const isCollection = segments.length % 2 === 1;
    if (method === "GET" && !isCollection) {
      // Resource Manager: a project answers with its number.
      if (segments.length === 2 && segments[0] === "projects" && !resources.has(name)) return { name: `projects/${FAKE_PROJECT_NUMBER}`, projectId: segments[1], state: "ACTIVE" };
      const found = resources.get(name);
      if (!found) throw notFound(name);
      return found;
    }
    if (method === "GET") {
      const collection = segments.at(-1)!;
      const items = [...resources.entries()].filter(([key]) => key.startsWith(`${name}/`) && key.split("/").length === segments.length + 1).map(([, value]) => value);
      const filter = query.get("filter");
      // Monitoring's list filter as the deploy plan uses it: display_name="…".
      const wanted = filter ? /display_name\s*=\s*"([^"]*)"/.exec(filter)?.[1] : undefined;
      return { [collection]: items.filter((item) => wanted === undefined || item.displayName === wanted) };
    }
    if (method === "POST" && isCollection) {
      let id = idFromQuery(query);
      let created: Record<string, unknown> = { ...body };
      if (segments.at(-1) === "serviceAccounts") {
        const project = segments[1]!;
        const accountId = body!.accountId as string;
        const email = `${accountId}@${project}.iam.gserviceaccount.com`;
        id = email;
        created = { ...(body!.serviceAccount as Record<string, unknown>), email, projectId: project };
      } else if (segments.at(-1) === "metrics") id = body!.name as string;
      else if (segments.at(-1) === "datasets") id = (body!.datasetReference as { datasetId: string }).datasetId;
      else if (segments.at(-1) === "tables") id = (body!.tableReference as { tableId: string }).tableId;
      else id ??= String(++generated);
      const key = `${name}/${id}`;
      if (resources.has(key)) throw new HttpError(409, `Resource '${key}' already exists`, "ALREADY_EXISTS");
      resources.set(key, { ...created, name: segments.at(-1) === "metrics" ? id : key });
      return resources.get(key);
    }
    const current = resources.get(name);
    // Pub/Sub creates topics and subscriptions with PUT on their name; Logging replaces a metric with PUT.
    if (method === "PUT" && !current) {
      resources.set(name, { ...body, name });
      return resources.get(name);
    }
    if (!current) throw notFound(name);
    if (method === "PATCH") {
      // The mask is a query parameter (Dataform, IAM…) or, in Pub/Sub, a body field beside the resource.
      const wrapped = typeof body?.updateMask === "string";
      const values = (wrapped ? (Object.values(body!).find((v) => typeof v === "object") as Record<string, unknown>) : body) ?? {};
      const mask = wrapped ? (body!.updateMask as string) : (query.get("updateMask") ?? query.get("update_mask"));
      // Masks may name fields in snake_case; bodies carry them in camelCase.
      const fields = mask ? mask.split(",").map((field) => field.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())) : Object.keys(values);
      const next = { ...current };
      for (const field of fields) next[field] = values[field];
      resources.set(name, next);
      return next;
    }
    if (method === "PUT") {
      if (!segments.includes("metrics")) throw new HttpError(409, `Resource '${name}' already exists`, "ALREADY_EXISTS");
      resources.set(name, { ...body, name: current.name });
      return resources.get(name);
    }
    throw new HttpError(405, `${method} not supported here`, "UNIMPLEMENTED");
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const raw = Buffer.concat(chunks);
      const isStorage = url.pathname.startsWith("/storage/") || url.pathname.startsWith("/upload/storage/");
      const path = isStorage ? url.pathname : decodeURIComponent(url.pathname.replace(VERSION, ""));
      let body: Record<string, unknown> | undefined;
      try {
        body = raw.length && (req.headers["content-type"] ?? "").includes("json") ? (JSON.parse(raw.toString()) as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      calls.push({ method: req.method!, path, query: url.searchParams, body: body ?? (raw.length ? raw.toString("latin1") : undefined) });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      try {
        send(200, isStorage ? storage(req.method!, path, url.searchParams, raw, req.headers["content-type"] ?? "") : resource(req.method!, path, url.searchParams, body));
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        send(error.code, { error: { code: error.code, message: error.message, status: error.status, errors: [{ reason: error.status === "NOT_FOUND" ? "notFound" : error.status }] } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    calls,
    resources,
    objects,
    policies,
    writes: () => calls.filter((call) => call.method !== "GET" && !call.path.endsWith(":getIamPolicy")),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function splitMultipart(raw: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let start = raw.indexOf(delimiter);
  while (start !== -1) {
    const next = raw.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = raw.subarray(start + delimiter.length, next);
    const headerEnd = part.indexOf("\r\n\r\n");
    // Each part: CRLF, headers, blank line, content, CRLF before the next delimiter.
    parts.push(part.subarray(headerEnd + 4, part.length - 2));
    start = next;
  }
  return parts;
}
