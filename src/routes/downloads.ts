// /v1/downloads/{token}: signed, expiring links. No API key: the signature is the credential.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { ApiError, validationHook } from "../errors";
import { serveObject } from "../storage/r2";
import { verifyDownloadToken } from "../storage/signed-urls";
import { errorResponses } from "../schemas";

const route = createRoute({
  method: "get",
  path: "/v1/downloads/{token}",
  tags: ["Downloads"],
  summary: "Download through a signed URL",
  description: "The `download_url` of a job or rendition. Tampered → 403 `download.invalid_signature`; expired → 403 `download.expired`. Supports Range and If-None-Match.",
  request: { params: z.object({ token: z.string() }) },
  responses: {
    200: { description: "the file", content: { "application/octet-stream": { schema: z.any().openapi({ type: "string", format: "binary" }) } } },
    206: { description: "partial content" },
    304: { description: "not modified" },
    ...errorResponses(403, 404),
  },
});

export const downloadsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(route, async (c) => {
  const grant = await verifyDownloadToken(c.env.DOWNLOAD_SIGNING_KEY, c.req.valid("param").token);
  const response = await serveObject(c.env.BUCKET, grant.key, c.req.raw, grant.fileName, grant.contentType);
  if (!response) throw new ApiError("download.not_found", "the file behind this link no longer exists");
  return response as never;
});
