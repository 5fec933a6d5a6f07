// The OpenAPI document at /v1/openapi.json: a 3.1 document that lists every mounted route, each with its
// responses and the error envelope. (test/e2e/openapi.test.ts also validates it against the 3.1 JSON Schema.)
import { exports } from "cloudflare:workers";
import { inspectRoutes } from "hono/dev";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { classOf, type ErrorCode, errorCatalog, errorFamilyOf } from "../src/errors";
import { BASE } from "./harness";

type Operation = {
  tags?: string[];
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: unknown;
  responses: Record<string, { description: string; content?: Record<string, { schema?: { $ref?: string } }> }>;
};
type Document = {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, any>; securitySchemes: Record<string, any> };
};

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];
const ERROR_REF = "#/components/schemas/Error";
const FILES_ERROR_REF = "#/components/schemas/FilesError";
/** Each path answers in its own document's vocabulary: seed 000's for /v1/files*, /v1/runs*, seed 003's else. */
const errorRefOf = (path: string) => (errorFamilyOf(path) === "files" ? FILES_ERROR_REF : ERROR_REF);

// The routes this document must hold at least; the introspection test below catches any route added later.
const EXPECTED = [
  "GET /health",
  "GET /v1/converter",
  "POST /v1/files",
  "GET /v1/files/{file_id}",
  "POST /v1/convert",
  "POST /v1/convert/batch",
  "GET /v1/convert/job/{id}",
  "GET /v1/convert/job/{id}/download",
  "POST /v1/convert/job/{id}/cancel",
  "GET /v1/convert/jobs",
  "GET /v1/convert/conversions",
  "GET /v1/convert/estimate/{from}/{to}",
  "GET /v1/convert/entitlements/me",
  "GET /v1/downloads/{token}",
];

// Served by the app but not API operations: the document itself and the docs page with its assets.
const UNDOCUMENTED = (path: string) => path === "/v1/openapi.json" || path === "/docs" || path.startsWith("/docs/");

let doc: Document;
let served: Response;

beforeAll(async () => {
  served = await exports.default.fetch(new Request(`${BASE}/v1/openapi.json`));
  doc = await served.clone().json();
});

function operations(): { key: string; path: string; method: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
  );
}

function resolve(ref: string): unknown {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce<any>((node, part) => node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
}

function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, out));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe("GET /v1/openapi.json", () => {
  it("is public JSON: no API key needed", async () => {
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toContain("application/json");
  });

  it("is an OpenAPI 3.1 document with info, a relative server, tags and both security schemes", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("docconv API");
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(doc.info.description).toContain("X-API-Key");
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
    expect(doc.tags.map((t) => t.name)).toEqual(
      expect.arrayContaining(["Jobs", "Files", "Catalog", "Downloads", "Health"]),
    );
    expect(doc.components.securitySchemes.ApiKeyHeader).toMatchObject({
      type: "apiKey",
      in: "header",
      name: "X-API-Key",
    });
    expect(doc.components.securitySchemes.BearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("lists the expected routes", () => {
    const documented = operations().map((o) => o.key);
    expect(documented).toEqual(expect.arrayContaining(EXPECTED));
  });

  it("documents every route the app mounts, and nothing it does not mount", () => {
    const mounted = inspectRoutes(createApp())
      .filter((r) => !r.isMiddleware && r.method !== "ALL" && !UNDOCUMENTED(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`);
    const documented = operations().map((o) => o.key);
    expect(mounted.length).toBeGreaterThanOrEqual(EXPECTED.length);
    expect([...new Set(mounted)].sort()).toEqual([...documented].sort());
  });

  it("resolves every $ref inside the document", () => {
    const refs = [...new Set(refsIn(doc))];
    expect(refs).toContain(ERROR_REF);
    expect(refs).toContain(FILES_ERROR_REF);
    for (const ref of refs) expect(resolve(ref), ref).toBeDefined();
  });

  it("gives every operation a summary, a tag, a success response and its family's error envelope", () => {
    for (const { key, path, op } of operations()) {
      expect(op.summary, key).toBeTruthy();
      expect(op.tags?.length, key).toBeGreaterThan(0);
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((s) => /^[23]\d\d$/.test(s)),
        `${key} has a 2xx/3xx response`,
      ).toBe(true);
      for (const [status, response] of Object.entries(op.responses))
        expect(response.description, `${key} ${status}`).toBeTruthy();
      const errors = statuses.filter(
        (s) => op.responses[s]!.content?.["application/json"]?.schema?.$ref === errorRefOf(path),
      );
      expect(errors, `${key} documents the error envelope`).toContain("500");
      const foreign = statuses.filter(
        (s) =>
          [ERROR_REF, FILES_ERROR_REF].includes(op.responses[s]!.content?.["application/json"]?.schema?.$ref ?? "") &&
          !errors.includes(s),
      );
      expect(foreign, `${key} documents only its own family's envelope`).toEqual([]);
    }
  });

  it("documents 401 with the envelope on every operation that needs a key, naming only defined schemes", () => {
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const { key, path, op } of operations()) {
      if (!op.security?.length) continue;
      for (const requirement of op.security)
        for (const name of Object.keys(requirement)) expect(schemes, key).toContain(name);
      expect(op.responses["401"]?.content?.["application/json"]?.schema?.$ref, `${key} 401`).toBe(errorRefOf(path));
    }
  });

  it("declares every path template parameter as a required path parameter", () => {
    for (const { key, path, op } of operations()) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const name of names) {
        expect(
          op.parameters?.find((p) => p.in === "path" && p.name === name),
          `${key} {${name}}`,
        ).toMatchObject({ required: true });
      }
    }
  });

  it("gives each error response an example envelope, in its family's vocabulary, whose code answers with that status", () => {
    const statusOf = new Map<string, number>(errorCatalog().map((e) => [e.code, e.status]));
    let seen = 0;
    for (const { key, path, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        type Example = { error: string; type?: string; code?: string; detail: string; message?: string };
        const media = response.content?.["application/json"] as
          | { schema?: { $ref?: string }; example?: Example }
          | undefined;
        if (media?.schema?.$ref !== errorRefOf(path)) continue;
        const example = media.example!;
        expect(example, `${key} ${status}`).toBeDefined();
        const code = errorFamilyOf(path) === "files" ? example.code! : example.error;
        const cls = errorFamilyOf(path) === "files" ? example.error : example.type!;
        expect(statusOf.get(code), `${key} ${status}: ${code}`).toBe(Number(status));
        expect(cls, `${key} ${status}`).toBe(classOf(code as ErrorCode));
        expect(example.detail).toBeTruthy();
        if (errorFamilyOf(path) === "files") expect(example.message).toBe(example.detail);
        seen++;
      }
    }
    expect(seen).toBeGreaterThan(20);
  });

  it("enumerates every error code of src/errors.ts in the Error schema", () => {
    const error = doc.components.schemas.Error;
    const codes = errorCatalog().map((e) => e.code);
    expect(error.properties.error.enum).toEqual(codes);
    expect(error.required).toEqual(expect.arrayContaining(["error", "type", "detail"]));
    for (const { code, status } of errorCatalog()) expect(error.description).toContain(`| \`${code}\` | ${status} |`);
    expect(codes).toContain(error.example.error);
  });

  it("describes seed 000's envelope for /v1/files* and /v1/runs*: the class in `error`, the code in `code`", () => {
    const files = doc.components.schemas.FilesError;
    expect(files.required).toEqual(expect.arrayContaining(["error", "code", "detail", "message"]));
    expect(files.properties.code.enum).toEqual(errorCatalog().map((e) => e.code));
    expect(files.properties.error.enum).toEqual(
      expect.arrayContaining(["invalid_request", "not_found", "conflict", "upstream_error"]),
    );
    expect(files.example).toMatchObject({ error: "invalid_request", code: "convert.unsupported_format_pair" });
    expect(doc.components.schemas.Error.properties.type.enum).toEqual(files.properties.error.enum);
  });

  it("carries examples for the request and response fields people fill in first", () => {
    const text = JSON.stringify(doc);
    expect(doc.components.schemas.JobStatusResponse.properties.id.example).toMatch(/^[0-9a-f-]{36}$/);
    expect(doc.components.schemas.File.properties.file_id.example).toMatch(/^file_/);
    expect(text).toContain('"example":"pdf"');
  });
});
