// /v1/runs/{run_id}/export: a run (any conversion job of the account) re-exported in another format. The
// run's output is registered once as a file, so an export is that file's cached rendition.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../app-env";
import { ownedOr404, type Caller } from "../auth/scope";
import { findFile, type FileRow } from "../db/files";
import { findJob } from "../db/jobs";
import { registerRunOutputFile } from "../db/renditions";
import { BOOKMARK_HEADER } from "../db/sessions";
import { ApiError, validationHook } from "../errors";
import { hasLiveOutput, type Services } from "../domain/jobs";
import { pendingBody, renditionFor, renditionHeaders, seedTimestamp, waitMsFor } from "../domain/renditions";
import { isUuidV7 } from "../ids";
import { apiKeySecurity, filesErrorResponses, RenditionPendingResponseSchema, RenditionRequestSchema, RenditionResponseHeaders, SheetQuerySchema } from "../schemas";
import { queryOrBody } from "../domain/conversions";
import { countedUnitOf } from "../domain/pricing";

const RunParams = z.object({ run_id: z.string().openapi({ example: "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f", description: "a job id" }) });

const RunExportSchema = z
  .object({
    format: z.string().openapi({ example: "pdf" }),
    download_url: z.string().openapi({ description: "signed URL of the export, valid until `expires_at` (DOWNLOAD_URL_TTL_SECONDS)" }),
    expires_at: z.string().openapi({ example: "2026-04-20T12:00:00+00:00", description: "when `download_url` stops working, to the second, UTC with a numeric offset (as seed 000 shows it)" }),
  })
  .openapi("RunExport");

// The body carries a format and a few options, never a document.
const exportBodyLimit = bodyLimit({
  maxSize: 16 * 1024,
  onError: () => {
    throw new ApiError("request.too_large", "the request body exceeds 16384 bytes; send only `format` and options");
  },
});

const exportRun = createRoute({
  method: "post",
  path: "/v1/runs/{run_id}/export",
  tags: ["Runs"],
  summary: "Export a run's output in another format (cached)",
  description:
    "A run is any conversion job of the key's account; exporting converts its output (a docx→odt run exported as pdf converts the odt). Cached for good per (run, format, options) like file renditions: a repeat call is free. The run must be Succeeded (else 409 `runs.not_succeeded`), its output a single file (else 400 `runs.multi_file_output`) still stored (else 410 `runs.output_expired`), in a format the matrix accepts as a source (else 400 `convert.unsupported_format_pair`). As in POST /v1/files/{file_id}/convert, an image format is the first page unless `pages` says otherwise (`all`, `2-5`), and `sheet` may be the query parameter `?sheet=`. Waiting, 202, failures and `x-d1-bookmark` as in POST /v1/files/{file_id}/convert.",
  security: apiKeySecurity,
  middleware: [exportBodyLimit] as const,
  request: {
    params: RunParams,
    query: SheetQuerySchema,
    headers: z.object({ [BOOKMARK_HEADER]: z.string().optional() }),
    body: { required: true, content: { "application/json": { schema: RenditionRequestSchema } } },
  },
  responses: {
    200: { description: "the export", headers: RenditionResponseHeaders, content: { "application/json": { schema: RunExportSchema } } },
    202: { description: "still converting after the wait", content: { "application/json": { schema: RenditionPendingResponseSchema } } },
    ...filesErrorResponses(400, 401, 402, 404, 409, 410, 413, 422, 429, 502),
  },
});

/** The run's output as a file this caller may convert, registering it on the first export. */
async function runOutputFile(svc: Services, caller: Caller, runId: string): Promise<FileRow> {
  const run = ownedOr404(isUuidV7(runId) ? await findJob(svc.db, runId) : undefined, caller, "runs.not_found", "run");
  if (run.status !== "Succeeded") {
    throw new ApiError("runs.not_succeeded", `the run is ${run.status}; only a Succeeded run can be exported`, { status: run.status, status_url: `/v1/convert/job/${run.id}` });
  }
  if ((run.outputFileCount ?? 1) > 1) {
    throw new ApiError("runs.multi_file_output", `the run's output is a ZIP of ${run.outputFileCount} files; only a single-file output can be exported`, { fileCount: run.outputFileCount });
  }
  if (!hasLiveOutput(run)) {
    throw new ApiError("runs.output_expired", "the run's output is no longer stored; convert the original again", { status_url: `/v1/convert/job/${run.id}` });
  }
  // The converter counted the output's pages itself (X-Output-Pages): exact, so a page-priced export of it
  // is priced on that count. Formats without an exact count keep none.
  const pages = countedUnitOf(run.targetFormat) ? run.outputPages : null;
  const fileId = await registerRunOutputFile(svc.d1, run, pages, Date.now());
  return (await findFile(svc.db, fileId))!;
}

export const runsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(exportRun, async (c) => {
  const { run_id } = c.req.valid("param");
  const { format, wait, ...options } = c.req.valid("json");
  options.sheet = queryOrBody("sheet", c.req.valid("query").sheet, options.sheet);
  const caller = c.var.caller;
  const outcome = await renditionFor({
    env: c.env,
    caller,
    source: { kind: "run", id: run_id },
    format,
    options,
    waitMs: waitMsFor(c.env, wait),
    origin: new URL(c.req.url).origin,
    bookmark: c.req.header(BOOKMARK_HEADER),
    loadFile: (svc) => runOutputFile(svc, caller, run_id),
  });
  const headers = renditionHeaders(outcome);
  if (outcome.state === "pending") return c.json(pendingBody(outcome), 202, headers);
  return c.json({ format: outcome.rendition.targetFormat, download_url: outcome.downloadUrl, expires_at: seedTimestamp(outcome.expiresAt) }, 200, headers);
});
