// /v1/downloads/{token}: signed, expiring links. No API key: the signature is the credential.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { serveSignedDownload } from "../domain/jobs";
import { validationHook } from "../errors";
import { errorResponses } from "../schemas";

const route = createRoute({
  method: "get",
  path: "/v1/downloads/{token}",
  tags: ["Downloads"],
  summary: "Download through a signed URL",
  description:
    "The `download_url` of a job or rendition. Tampered → 403 `download.invalid_signature`; expired → 403 `download.expired`. Supports HEAD, `Range` (one byte range → 206; past the end → 416 `download.range_not_satisfiable` with `Content-Range: bytes */<size>`; invalid or several ranges → 200 with the whole file; `If-Range`) and the validators `ETag`/`Last-Modified`: a matching `If-None-Match`/`If-Modified-Since` → 304, a failing `If-Match`/`If-Unmodified-Since` → 412 `download.precondition_failed`; malformed validators are ignored (RFC 9110).",
  request: { params: z.object({ token: z.string() }) },
  responses: {
    200: {
      description: "the file",
      content: { "application/octet-stream": { schema: z.any().openapi({ type: "string", format: "binary" }) } },
    },
    206: { description: "partial content" },
    304: { description: "not modified" },
    ...errorResponses(403, 404, 412, 416),
  },
});

export const downloadsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(route, async (c) =>
  serveSignedDownload(c.var.svc, c.req.valid("param").token, c.req.raw),
);
