// /v1/files: uploads, and reading a file's record.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { fieldsOnlyBodyLimit } from "../body-limits";
import { fileResponse, visibleFile } from "../domain/files";
import { BOOKMARK_HEADER, seedTimestamp } from "../domain/renditions";
import { discardUploads, recordUploads } from "../domain/uploads";
import { ApiError, validationError, validationHook } from "../errors";
import {
  apiKeySecurity,
  FileResponseSchema,
  filesErrorResponses,
  RenditionPendingResponse,
  RenditionRequestSchema,
  RenditionResponseHeaders,
  SheetQuerySchema,
} from "../schemas";
import { renditionAnswer } from "./renditions";
import { readOneDocumentForm, streamingRoute } from "./upload-form";

const UploadFields = z.object({
  purpose: z
    .string()
    .max(64)
    .optional()
    .openapi({ example: "conversion", description: "free label, default `conversion`" }),
});
const UploadForm = UploadFields.extend({
  file: z
    .any()
    .openapi({ type: "string", format: "binary", description: "the document (one file part, streamed to storage)" }),
});

const upload = createRoute({
  method: "post",
  path: "/v1/files",
  tags: ["Files"],
  summary: "Upload a file",
  description:
    "Stores the document; its format is detected from its bytes, and `pages` is its page or slide count where its structure gives it exactly (PDF page tree, pptx/odp slides; null otherwise). Files are private to the key's account (personal or workspace). The body is read as a stream: fields in any order, one `file` part of at most MAX_FILE_SIZE_BYTES (413 `request.too_large` as soon as it crosses the limit); a body cut off before its closing boundary is 400 `request.incomplete_body` and nothing is stored.",
  security: apiKeySecurity,
  request: { body: { required: true, content: { "multipart/form-data": { schema: UploadForm } } } },
  responses: {
    201: { description: "stored", content: { "application/json": { schema: FileResponseSchema } } },
    ...filesErrorResponses(400, 401, 413, 415, 422),
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
    ...filesErrorResponses(401, 404),
  },
});

export const FileRenditionSchema = z
  .object({
    file_id: z.string().openapi({ example: "file_8hZt2kq0aB3cD4eF5gH6" }),
    source_format: z.string().openapi({ example: "docx" }),
    format: z.string().openapi({ example: "pdf" }),
    download_url: z
      .string()
      .openapi({ description: "signed URL of the rendition, valid until `expires_at` (DOWNLOAD_URL_TTL_SECONDS)" }),
    expires_at: z.string().openapi({
      example: "2026-04-20T12:00:00+00:00",
      description: "when `download_url` stops working, to the second, UTC with a numeric offset (as seed 000 shows it)",
    }),
  })
  .openapi("FileRendition");

const convertFile = createRoute({
  method: "post",
  path: "/v1/files/{file_id}/convert",
  tags: ["Files"],
  summary: "Convert a file (cached)",
  description:
    "Returns the file in `format` with a freshly signed download URL: one file of that format. An image format (`png`, `jpg`) of a multi-page document, deck or workbook is its first page or slide, as seed 000 says; `pages=all` (a ZIP of every page) or `pages=2-5` asks for more. `sheet` (csv) may also be the query parameter `?sheet=`. Renditions are cached for good per (file, format, options): a repeat call costs nothing and does not convert. On a miss the conversion is charged like a job and the request waits for it (up to `wait` seconds, default and maximum RENDITION_WAIT_SECONDS = 60); identical concurrent requests share one conversion. If the wait runs out: 202 with the job's status URL when the request sent `wait` (our extension); without it (seed 000's blocking call), 502 `upstream_error` `convert.still_running` with the job and `Retry-After`: calling again joins the same conversion, not charged again. A failed conversion is refunded: 502 `convert.failed` (a retry converts again), or the document's own fault with its code (422 `convert.password_protected`, `convert.corrupt_input`). A run's output registered as a file (`file_run_…`) is refused with 410 `runs.output_expired` once the run's output has expired, before anything is charged. Send the `x-d1-bookmark` of a previous answer for read-your-writes.",
  security: apiKeySecurity,
  // The form carries a format and a few options, never a document.
  middleware: [fieldsOnlyBodyLimit] as const,
  request: {
    params: z.object({ file_id: z.string() }),
    query: SheetQuerySchema,
    headers: z.object({ [BOOKMARK_HEADER]: z.string().optional() }),
    body: { required: true, content: { "multipart/form-data": { schema: RenditionRequestSchema } } },
  },
  responses: {
    200: {
      description: "the rendition",
      headers: RenditionResponseHeaders,
      content: { "application/json": { schema: FileRenditionSchema } },
    },
    202: RenditionPendingResponse,
    ...filesErrorResponses(400, 401, 402, 404, 410, 413, 422, 429, 502),
  },
});

/** POST /v1/files: the form streamed into R2 (never parsed whole: see upload-form.ts). */
async function receiveUpload(c: Context<AppEnv>): Promise<Response> {
  const form = await readOneDocumentForm(c, Object.keys(UploadFields.shape));
  try {
    const fields = UploadFields.safeParse(form.fields);
    if (!fields.success) throw validationError(fields.error, "form");
    const upload = form.files[0];
    if (!upload) throw new ApiError("request.missing_file", "send the document as the multipart field `file`");
    upload.row.purpose = fields.data.purpose || "conversion";
    const [row] = await recordUploads(c.var.svc, [upload]);
    return c.json(fileResponse(row!), 201);
  } catch (error) {
    await discardUploads(c.var.svc, form.files);
    throw error;
  }
}

export const filesRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(getFile, async (c) => {
    const row = await visibleFile(c.var.svc, c.var.caller, c.req.valid("param").file_id);
    return c.json(fileResponse(row), 200);
  })
  .openapi(convertFile, async (c) => {
    const { file_id } = c.req.valid("param");
    return renditionAnswer(
      c,
      { kind: "file", id: file_id },
      c.req.valid("form"),
      c.req.valid("query"),
      ({ rendition, downloadUrl, expiresAt }) => ({
        file_id,
        source_format: rendition.sourceFormat,
        format: rendition.targetFormat,
        download_url: downloadUrl,
        expires_at: seedTimestamp(expiresAt),
      }),
    );
  });

streamingRoute(filesRoutes, upload, receiveUpload);
