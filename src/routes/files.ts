// /v1/files: uploads, and reading a file's record.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { ownedOr404 } from "../auth/scope";
import { findFile } from "../db/files";
import { ApiError, validationHook } from "../errors";
import { fileResponse, storeUpload } from "../domain/uploads";
import { apiKeySecurity, errorResponses, FileResponseSchema } from "../schemas";

const UploadForm = z.object({
  file: z.any().optional().openapi({ type: "string", format: "binary", description: "the document" }),
  purpose: z.string().max(64).optional().openapi({ example: "conversion", description: "free label, default `conversion`" }),
});

const upload = createRoute({
  method: "post",
  path: "/v1/files",
  tags: ["Files"],
  summary: "Upload a file",
  description: "Stores the document; its format is detected from its bytes. Files are private to the key's account (personal or workspace).",
  security: apiKeySecurity,
  request: { body: { required: true, content: { "multipart/form-data": { schema: UploadForm } } } },
  responses: {
    201: { description: "stored", content: { "application/json": { schema: FileResponseSchema } } },
    ...errorResponses(400, 401, 413, 415, 422),
  },
});

const getFile = createRoute({
  method: "get",
  path: "/v1/files/{file_id}",
  tags: ["Files"],
  summary: "Get a file's record",
  security: apiKeySecurity,
  request: { params: z.object({ file_id: z.string() }) },
  responses: {
    200: { description: "the file", content: { "application/json": { schema: FileResponseSchema } } },
    ...errorResponses(401, 404),
  },
});

export const filesRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(upload, async (c) => {
    const form = c.req.valid("form");
    const file = form.file as unknown;
    if (!(file instanceof File)) throw new ApiError("request.missing_file", "send the document as the multipart field `file`");
    const row = await storeUpload(c.env, c.var.db, c.var.caller.accountId, file, form.purpose || "conversion");
    return c.json(fileResponse(row), 201);
  })
  .openapi(getFile, async (c) => {
    const row = ownedOr404(await findFile(c.var.db, c.req.valid("param").file_id), c.var.caller, "files.not_found", "file");
    return c.json(fileResponse(row), 200);
  });
