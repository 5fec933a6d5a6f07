// /v1/runs/{run_id}/export: a run (any conversion job of the account) re-exported in another format. The
// run's output is registered once as a file, so an export is that file's cached rendition.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { fieldsOnlyBodyLimit } from "../body-limits";
import { BOOKMARK_HEADER, seedTimestamp } from "../domain/renditions";
import { validationHook } from "../errors";
import {
  apiKeySecurity,
  filesErrorResponses,
  RenditionPendingResponse,
  RenditionRequestSchema,
  RenditionResponseHeaders,
  SheetQuerySchema,
} from "../schemas";
import { renditionAnswer } from "./renditions";

const RunParams = z.object({
  run_id: z.string().openapi({ example: "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f", description: "a job id" }),
});

export const RunExportSchema = z
  .object({
    format: z.string().openapi({ example: "pdf" }),
    download_url: z
      .string()
      .openapi({ description: "signed URL of the export, valid until `expires_at` (DOWNLOAD_URL_TTL_SECONDS)" }),
    expires_at: z.string().openapi({
      example: "2026-04-20T12:00:00+00:00",
      description: "when `download_url` stops working, to the second, UTC with a numeric offset (as seed 000 shows it)",
    }),
  })
  .openapi("RunExport");

const exportRun = createRoute({
  method: "post",
  path: "/v1/runs/{run_id}/export",
  tags: ["Runs"],
  summary: "Export a run's output in another format (cached)",
  description:
    "A run is any conversion job of the key's account; exporting converts its output (a docx→odt run exported as pdf converts the odt). Cached for good per (run, format, options) like file renditions: a repeat call is free. The run must be Succeeded (else 409 `runs.not_succeeded`), its output a single file (else 400 `runs.multi_file_output`) still stored (else 410 `runs.output_expired`), in a format the matrix accepts as a source (else 400 `convert.unsupported_format_pair`). As in POST /v1/files/{file_id}/convert, an image format is the first page unless `pages` says otherwise (`all`, `2-5`), and `sheet` may be the query parameter `?sheet=`. Waiting, 202, failures and `x-d1-bookmark` as in POST /v1/files/{file_id}/convert.",
  security: apiKeySecurity,
  // The body carries a format and a few options, never a document.
  middleware: [fieldsOnlyBodyLimit] as const,
  request: {
    params: RunParams,
    query: SheetQuerySchema,
    headers: z.object({ [BOOKMARK_HEADER]: z.string().optional() }),
    body: { required: true, content: { "application/json": { schema: RenditionRequestSchema } } },
  },
  responses: {
    200: {
      description: "the export",
      headers: RenditionResponseHeaders,
      content: { "application/json": { schema: RunExportSchema } },
    },
    202: RenditionPendingResponse,
    ...filesErrorResponses(400, 401, 402, 404, 409, 410, 413, 422, 429, 502),
  },
});

export const runsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(exportRun, async (c) =>
  renditionAnswer(
    c,
    { kind: "run", id: c.req.valid("param").run_id },
    c.req.valid("json"),
    c.req.valid("query"),
    ({ rendition, downloadUrl, expiresAt }) => ({
      format: rendition.targetFormat,
      download_url: downloadUrl,
      expires_at: seedTimestamp(expiresAt),
    }),
  ),
);
