// Shapes shared by several routes, written once as zod schemas: they validate, type and document (OpenAPI).
import { z } from "@hono/zod-openapi";
import { errorBody, errorCatalog } from "./errors";

// The envelope's codes, documented from the one table in errors.ts.
const ERROR_CATALOG = errorCatalog();
const ERROR_TABLE = ["| error | HTTP status | type |", "| --- | --- | --- |", ...ERROR_CATALOG.map((e) => `| \`${e.code}\` | ${e.status} | ${e.type} |`)].join("\n");

export const ErrorEnvelope = z
  .object({
    error: z.string().openapi({ example: "convert.unsupported_format_pair", description: "`<area>.<code>`: the machine-readable reason", enum: ERROR_CATALOG.map((e) => e.code) }),
    type: z.string().openapi({ example: "invalid_request", description: "coarse class: invalid_request, authentication_error, payment_required, forbidden, not_found, conflict, gone, payload_too_large, rate_limited, upstream_error, unavailable, internal_error" }),
    detail: z.string().openapi({ example: "cannot convert docx to mp3; docx converts to: pdf, html, txt, odt" }),
  })
  .catchall(z.unknown())
  .openapi("Error", {
    description: `The one error envelope of every endpoint: \`error\`, \`type\`, \`detail\`, and context fields that depend on the code (for example \`supportedTargets\`).\n\n${ERROR_TABLE}`,
    example: {
      error: "convert.unsupported_format_pair",
      type: "invalid_request",
      detail: "cannot convert docx to mp3; docx converts to: pdf, html, txt, odt",
      sourceFormat: "docx",
      targetFormat: "mp3",
      supportedTargets: ["pdf", "html", "txt", "odt"],
    },
  });

// 500 is always listed: onError answers any route with `internal_error`.
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    [...statuses, 500].map((s) => [s, { description: ERROR_DESCRIPTIONS[s] ?? "error", content: { "application/json": { schema: ErrorEnvelope, example: ERROR_EXAMPLES[s] } } }]),
  ) as Record<number, { description: string; content: { "application/json": { schema: typeof ErrorEnvelope } } }>;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "invalid request (validation, unsupported format pair, bad option)",
  401: "missing, unknown or revoked API key",
  402: "not enough credits, or the daily limit is reached",
  403: "forbidden (bad or expired download signature)",
  404: "not found, or not visible to this key",
  409: "conflict with the resource's state",
  410: "gone (the output has expired)",
  412: "a precondition failed (If-Match, If-Unmodified-Since)",
  413: "too large (file size, pages, batch)",
  415: "unsupported or mismatched file format",
  416: "the range is outside the file (`Content-Range: bytes */<size>`)",
  422: "the document cannot be processed (password-protected, corrupt, zip bomb) or idempotency key reuse",
  429: "too many concurrent jobs; see Retry-After",
  502: "the conversion failed upstream; a retry is safe",
  503: "the converter is unavailable",
  504: "the conversion timed out",
  500: "unexpected error (`internal_error`)",
};

// One typical envelope a status, built like the real ones (errorBody), for the docs' examples.
const ERROR_EXAMPLES: Record<number, ReturnType<typeof errorBody>> = {
  400: errorBody("convert.unsupported_format_pair", "cannot convert docx to mp3; docx converts to: pdf, html, txt, odt", { sourceFormat: "docx", targetFormat: "mp3", supportedTargets: ["pdf", "html", "txt", "odt"] }),
  401: errorBody("auth.missing_key", "send your API key in X-API-Key or Authorization: Bearer"),
  402: errorBody("credits.insufficient", "this needs 12 credits and the balance is too low", { creditCost: 12 }),
  403: errorBody("download.invalid_signature", "the download link's signature does not match"),
  404: errorBody("jobs.not_found", "job not found"),
  409: errorBody("jobs.already_finished", "the job is already Succeeded", { status: "Succeeded" }),
  410: errorBody("jobs.output_expired", "the job's output has expired and was deleted"),
  412: errorBody("download.precondition_failed", "the file does not match the request's If-Match or If-Unmodified-Since", { etag: '"3f6c0e2a9b8d7c6e5f4a3b2c1d0e9f8a"' }),
  413: errorBody("request.too_large", "the file is 73400320 bytes; the limit is 52428800", { maxFileSizeBytes: 52428800 }),
  415: errorBody("request.unsupported_format", "zip is not a supported source format", { detectedFormat: "zip" }),
  416: errorBody("download.range_not_satisfiable", "the requested range is outside the file's 8357 bytes", { size: 8357 }),
  422: errorBody("convert.corrupt_input", "the file is a damaged or truncated zip archive"),
  429: errorBody("limits.concurrent_jobs", "at most 5 jobs may be queued or running at once on the Free plan", { maxConcurrentJobs: 5 }),
  500: errorBody("internal_error", "internal error"),
  502: errorBody("convert.failed", "the converter failed; a retry is safe"),
  503: errorBody("upstream.unavailable", "the converter is unavailable"),
  504: errorBody("convert.timeout", "the conversion took longer than the limit"),
};

export const ConvertOptionsSchema = z.object({
  sheet: z.string().optional().openapi({ description: "CSV from a workbook: 1-based sheet index, sheet name, or `all` (ZIP of one CSV per sheet)", example: "1" }),
  pages: z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, "pages is a range like 1-3 or 1,3-5").optional().openapi({ description: "page range for PDF and image outputs; one page gives one image instead of a ZIP", example: "1-3" }),
  dpi: z.coerce.number().int().min(36).max(600).optional().openapi({ description: "image outputs: resolution", example: 150 }),
  quality: z.coerce.number().int().min(1).max(100).optional().openapi({ description: "jpg outputs: quality", example: 85 }),
  pdfa: z.enum(["1b", "2b", "3b"]).optional().openapi({ description: "PDF/A conformance level for PDF outputs" }),
});
export type ConvertOptionsInput = z.infer<typeof ConvertOptionsSchema>;

export const JobStatusResponseSchema = z
  .object({
    id: z.string().openapi({ example: "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f" }),
    status: z.enum(["Queued", "Running", "Succeeded", "Failed", "Canceled"]),
    progress: z.object({ percent: z.number().int(), phase: z.string().openapi({ example: "converting", description: "queued, converting, storing, done, failed, canceled" }) }),
    metrics: z.object({
      inputBytes: z.number().int(),
      outputBytes: z.number().int().nullable(),
      creditCost: z.number().int(),
      inputPages: z.number().int().nullable(),
      outputPages: z.number().int().nullable(),
    }),
    error: z.object({ code: z.string(), detail: z.string() }).nullable(),
    output: z.object({ fileName: z.string(), contentType: z.string(), fileCount: z.number().int() }).nullable(),
    download_url: z.string().nullable().openapi({ description: "signed, expiring URL of the output (Succeeded only)" }),
    expires_at: z.string().nullable(),
    sourceFormat: z.string(),
    targetFormat: z.string(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("JobStatusResponse");

export const JobAcceptedResponseSchema = z
  .object({ id: z.string(), status: z.literal("Queued"), creditCost: z.number().int() })
  .openapi("JobAcceptedResponse");

export const FileResponseSchema = z
  .object({
    file_id: z.string().openapi({ example: "file_8hZt2kq0aB3cD4eF5gH6" }),
    filename: z.string(),
    bytes: z.number().int(),
    source_format: z.string().openapi({ example: "docx" }),
    purpose: z.string(),
    pages: z.number().int().nullable(),
    created_at: z.string(),
  })
  .openapi("File");

export const apiKeySecurity: Record<string, string[]>[] = [{ ApiKeyHeader: [] }, { BearerAuth: [] }];

/** The body of POST /v1/files/{file_id}/convert and POST /v1/runs/{run_id}/export. */
export const RenditionRequestSchema = ConvertOptionsSchema.extend({
  format: z.string().min(1).openapi({ example: "pdf", description: "target format (extension)" }),
  wait: z.coerce.number().min(0).optional().openapi({
    example: 30,
    description: "seconds to wait for a conversion that is not cached yet: at most, and by default, RENDITION_WAIT_SECONDS (60). 0 answers 202 at once on a miss",
  }),
});

export const RenditionPendingResponseSchema = z
  .object({
    job_id: z.string().openapi({ example: "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f" }),
    status: z.enum(["Queued", "Running"]),
    status_url: z.string().openapi({ example: "/v1/convert/job/019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f", description: "poll it; when Succeeded, calling the same endpoint again returns the cached rendition" }),
  })
  .openapi("RenditionPending");

/** Response headers of the rendition endpoints. */
export const RenditionResponseHeaders = z.object({
  "x-d1-bookmark": z.string().openapi({ description: "D1 session bookmark: send it back as `x-d1-bookmark` for read-your-writes" }),
  "x-rendition-cache": z.enum(["hit", "miss"]).openapi({ description: "hit: served from the cache, nothing converted or charged" }),
});
