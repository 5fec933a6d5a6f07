// Shapes shared by several routes, written once as zod schemas: they validate, type and document (OpenAPI).
import { z } from "@hono/zod-openapi";
import { sources } from "../container/src/formats.ts";
import { parsePages } from "../container/src/options.ts";
import { ERROR_CLASSES, type ErrorCode, type ErrorFamily, errorBody, errorCatalog } from "./errors";

// The envelope's codes, documented from the one table in errors.ts.
const ERROR_CATALOG = errorCatalog();
const ERROR_TABLE = [
  "| code | HTTP status | class |",
  "| --- | --- | --- |",
  ...ERROR_CATALOG.map((e) => `| \`${e.code}\` | ${e.status} | ${e.type} |`),
].join("\n");
const CODE_ENUM = ERROR_CATALOG.map((e) => e.code);
const CLASS_LIST = ERROR_CLASSES.join(", ");

// The example's targets come from the matrix, as the real answer's do.
const DOCX_TARGETS = [...sources.docx.targets];
const UNSUPPORTED_PAIR = {
  detail: `cannot convert docx to mp3; docx converts to: ${DOCX_TARGETS.join(", ")}`,
  context: { sourceFormat: "docx", targetFormat: "mp3", supportedTargets: DOCX_TARGETS },
};

/** Seed 003's ErrorResponse: every endpoint but /v1/files* and /v1/runs*. */
export const ErrorEnvelope = z
  .object({
    error: z.string().openapi({
      example: "convert.unsupported_format_pair",
      description: "`<area>.<code>`: the machine-readable reason",
      enum: CODE_ENUM,
    }),
    type: z
      .string()
      .openapi({ example: "invalid_request", description: `the code's class: ${CLASS_LIST}`, enum: ERROR_CLASSES }),
    detail: z.string().openapi({ example: UNSUPPORTED_PAIR.detail }),
  })
  .catchall(z.unknown())
  .openapi("Error", {
    description: `The error envelope of the job API (\`/v1/convert*\`, webhooks, downloads, …), seed 003's ErrorResponse: \`error\` is the dotted code, \`type\` its class, \`detail\` for people, and context fields that depend on the code (for example \`supportedTargets\`). \`/v1/files*\` and \`/v1/runs*\` answer the same errors as \`FilesError\`.\n\n${ERROR_TABLE}`,
    example: errorBody("convert.unsupported_format_pair", UNSUPPORTED_PAIR.detail, UNSUPPORTED_PAIR.context),
  });

/** Seed 000's error table: /v1/files* and /v1/runs*. The same codes and statuses, the class in `error`. */
export const FilesErrorEnvelope = z
  .object({
    error: z.string().openapi({
      example: "invalid_request",
      description: `the class, as seed 000's error table names them: ${CLASS_LIST}`,
      enum: ERROR_CLASSES,
    }),
    code: z.string().openapi({
      example: "convert.unsupported_format_pair",
      description: "the fine-grained `<area>.<code>` (the `error` of the job API's envelope)",
      enum: CODE_ENUM,
    }),
    detail: z.string().openapi({ example: UNSUPPORTED_PAIR.detail }),
    message: z.string().openapi({ description: 'the same text as `detail` (seed 000: "Message lists valid targets")' }),
  })
  .catchall(z.unknown())
  .openapi("FilesError", {
    description: `The error envelope of \`/v1/files*\` and \`/v1/runs*\`, in seed 000's vocabulary: \`error\` is the class (\`invalid_request\` 400, \`not_found\` 404, \`conflict\` 409, \`upstream_error\` 502, and for other statuses ${CLASS_LIST}), \`code\` the fine-grained code of the \`Error\` table, plus context fields.`,
    example: errorBody("convert.unsupported_format_pair", UNSUPPORTED_PAIR.detail, UNSUPPORTED_PAIR.context, "files"),
  });

type ErrorResponses = Record<
  number,
  { description: string; content: { "application/json": { schema: typeof ErrorEnvelope | typeof FilesErrorEnvelope } } }
>;

function responsesFor(family: ErrorFamily, statuses: number[]): ErrorResponses {
  const schema = family === "files" ? FilesErrorEnvelope : ErrorEnvelope;
  // 500 is always listed: onError answers any route with `internal_error`.
  return Object.fromEntries(
    [...statuses, 500].map((s) => {
      const [code, detail, context] =
        (family === "files" ? FILES_ERROR_EXAMPLES[s] : undefined) ?? ERROR_EXAMPLES[s] ?? ERROR_EXAMPLES[500]!;
      return [
        s,
        {
          description: ERROR_DESCRIPTIONS[s] ?? "error",
          content: { "application/json": { schema, example: errorBody(code, detail, context, family) } },
        },
      ];
    }),
  );
}

/** Error responses of a job-API route (seed 003 envelope). */
export const errorResponses = (...statuses: number[]) => responsesFor("jobs", statuses);
/** Error responses of a /v1/files* or /v1/runs* route (seed 000 envelope). */
export const filesErrorResponses = (...statuses: number[]) => responsesFor("files", statuses);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "invalid request (validation, unsupported format pair, bad option)",
  401: "missing, unknown or revoked API key",
  402: "not enough credits, or the daily limit is reached",
  403: "forbidden (bad or expired download signature)",
  404: "not found, or not visible to this key",
  409: "conflict with the resource's state",
  410: "gone (the output, or the run output a file points at, has expired)",
  412: "a precondition failed (If-Match, If-Unmodified-Since)",
  413: "too large (file size, batch)",
  415: "unsupported or mismatched file format",
  416: "the range is outside the file (`Content-Range: bytes */<size>`)",
  422: "the document cannot be processed (password-protected, corrupt, zip bomb, more pages than allowed) or idempotency key reuse",
  429: "too many concurrent jobs; see Retry-After",
  502: "the conversion failed upstream; a retry is safe",
  503: "the converter is unavailable",
  504: "the conversion timed out",
  500: "unexpected error (`internal_error`)",
};

// One typical error a status, built like the real ones (errorBody), for the docs' examples.
type ErrorExample = [ErrorCode, string, Record<string, unknown>?];
const FILES_ERROR_EXAMPLES: Record<number, ErrorExample> = {
  404: ["files.not_found", "file not found"],
  409: [
    "runs.not_succeeded",
    "the run is Running; only a Succeeded run can be exported",
    { status: "Running", status_url: "/v1/convert/job/019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f" },
  ],
};
const ERROR_EXAMPLES: Record<number, ErrorExample> = {
  400: ["convert.unsupported_format_pair", UNSUPPORTED_PAIR.detail, UNSUPPORTED_PAIR.context],
  401: ["auth.missing_key", "send your API key in X-API-Key or Authorization: Bearer"],
  402: ["credits.insufficient", "this needs 12 credits and the balance is too low", { creditCost: 12 }],
  403: ["download.invalid_signature", "the download link's signature does not match"],
  404: ["jobs.not_found", "job not found"],
  409: ["jobs.already_finished", "the job is already Succeeded", { status: "Succeeded" }],
  410: ["jobs.output_expired", "the job's output has expired and was deleted"],
  412: [
    "download.precondition_failed",
    "the file does not match the request's If-Match or If-Unmodified-Since",
    { etag: '"3f6c0e2a9b8d7c6e5f4a3b2c1d0e9f8a"' },
  ],
  413: ["request.too_large", "the file is 73400320 bytes; the limit is 52428800", { maxFileSizeBytes: 52428800 }],
  415: ["request.unsupported_format", "zip is not a supported source format", { detectedFormat: "zip" }],
  416: ["download.range_not_satisfiable", "the requested range is outside the file's 8357 bytes", { size: 8357 }],
  422: ["convert.corrupt_input", "the file is a damaged or truncated zip archive"],
  429: [
    "limits.concurrent_jobs",
    "at most 10 jobs may be queued or running at once on the Free plan",
    { maxConcurrentJobs: 10 },
  ],
  500: ["internal_error", "internal error"],
  502: ["convert.failed", "the conversion failed; the credits were refunded and a retry converts again"],
  503: ["upstream.unavailable", "the converter is unavailable"],
  504: ["convert.timeout", "the conversion took longer than the limit"],
};

// The converter's rule for `sheet` (container/src/options.ts): a 1-based index, a name of at most 255 characters
// or `all`; checked here too, so a sheet it would refuse is never admitted and charged.
const SheetSchema = z
  .string()
  .max(255, "a sheet name has at most 255 characters")
  .refine((sheet) => !/^0+$/.test(sheet), "sheets are numbered from 1");

export const ConvertOptionsSchema = z.object({
  sheet: SheetSchema.optional().openapi({
    description:
      "CSV from a workbook: 1-based sheet index, sheet name, or `all` (ZIP of one CSV per sheet); also accepted as the query parameter `?sheet=`",
    example: "1",
  }),
  pages: z
    .string()
    .regex(/^(all|\d+(-\d+)?(,\d+(-\d+)?)*)$/, "pages is `all` or a range like 1-3 or 1,3-5")
    // The converter's own rule (pages start at 1, ranges go upwards, within its page limit), checked here so a
    // selection it would refuse is never admitted and charged.
    .refine(
      acceptedByConverter,
      "pages start at 1, each range goes upwards (2-5, not 5-2 or 0), and none is past page 100000",
    )
    .optional()
    .openapi({
      description:
        "pages or slides for PDF and image outputs: a range like `1-3` or `1,3-5`, or `all`. Images: one page gives one image, several a ZIP. Without it, /v1/convert converts every page and /v1/files/{file_id}/convert and /v1/runs/{run_id}/export render only the first page as one image. Pages past the document's end are 400 `convert.invalid_option`: at submission where the count is exact (pdf, pptx, odp), else when the job runs (refunded)",
      example: "1-3",
    }),
  dpi: z.coerce
    .number()
    .int()
    .min(36)
    .max(600)
    .optional()
    .openapi({ description: "image outputs: resolution", example: 150 }),
  quality: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: "jpg outputs: quality", example: 85 }),
  pdfa: z.enum(["1b", "2b", "3b"]).optional().openapi({ description: "PDF/A conformance level for PDF outputs" }),
  // Multipart fields are strings: "true"/"false" there, a boolean in JSON.
  escapeFormulas: z
    .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
    .optional()
    .openapi({
      description:
        "CSV outputs: cells that start with = + - @, a tab or a carriage return (and are not plain numbers) get a leading ' so spreadsheets do not run them as formulas (CSV injection). Default true; false writes every cell verbatim",
      example: true,
    }),
});
function acceptedByConverter(pages: string): boolean {
  if (pages === "all") return true;
  try {
    parsePages(pages);
    return true;
  } catch {
    return false;
  }
}

/** `?sheet=` (seed 000's announced parameter), accepted wherever the body takes `sheet`. */
export const SheetQuerySchema = z.object({
  sheet: SheetSchema.optional().openapi({
    description: "the same as the body's `sheet`; when both are sent they must agree (else 400 `request.invalid`)",
    example: "2",
  }),
});

const JOB_EXAMPLE_ID = "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f";

export const JobStatusResponseSchema = z
  .object({
    id: z.string().openapi({ example: JOB_EXAMPLE_ID }),
    status: z.enum(["Queued", "Running", "Succeeded", "Failed", "Canceled"]),
    progress: z.object({
      percent: z
        .number()
        .int()
        .min(0)
        .max(100)
        .openapi({ description: "0 while Queued or Running, 100 once Succeeded" }),
      phase: z.string().nullable().openapi({
        example: "converting",
        description: "while Queued or Running: queued, converting, storing; null once finished",
      }),
    }),
    metrics: z.object({
      inputBytes: z.number().int().openapi({ description: "0 while Queued or Running" }),
      outputBytes: z
        .number()
        .int()
        .openapi({ description: "0 while Queued or Running, and when nothing was produced" }),
      creditCost: z.number().int().openapi({ description: "the actual cost, decided at submission" }),
      inputPages: z
        .number()
        .int()
        .nullable()
        .openapi({ description: "the input's page or slide count where it is known" }),
      outputPages: z.number().int().nullable(),
    }),
    error: z.object({ code: z.string(), detail: z.string() }).nullable().openapi({ description: "Failed jobs only" }),
    output: z
      .object({ fileName: z.string(), contentType: z.string(), fileCount: z.number().int() })
      .nullable()
      .openapi({ description: "Succeeded jobs whose output is still stored" }),
    download_url: z.string().nullable().openapi({ description: "signed, expiring URL of the output (Succeeded only)" }),
    expires_at: z.string().nullable(),
    sourceFormat: z.string(),
    targetFormat: z.string(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("JobStatusResponse", {
    example: {
      id: JOB_EXAMPLE_ID,
      status: "Running",
      progress: { percent: 0, phase: "converting" },
      metrics: { inputBytes: 0, outputBytes: 0, creditCost: 1, inputPages: null, outputPages: null },
      error: null,
      output: null,
      download_url: null,
      expires_at: null,
      sourceFormat: "docx",
      targetFormat: "pdf",
      createdAt: "2026-11-23T06:09:58.120Z",
      finishedAt: null,
    },
  });

export const JobAcceptedResponseSchema = z
  .object({ id: z.string(), status: z.literal("Queued"), creditCost: z.number().int() })
  .openapi("JobAcceptedResponse");

/** An Idempotency-Key replay: the job as it is now (status, output, download link), with its cost. */
export const JobReplayResponseSchema = JobStatusResponseSchema.extend({
  creditCost: z.number().int().openapi({ description: "what the job was charged when it was admitted" }),
}).openapi("JobReplayResponse");

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
    description:
      "seconds to wait for a conversion that is not cached yet: at most, and by default, RENDITION_WAIT_SECONDS (60). 0 answers 202 at once on a miss. Sending it is what asks for the 202 when the wait runs out; without it that is 502 `convert.still_running` (seed 000's vocabulary)",
  }),
});

export const RenditionPendingResponseSchema = z
  .object({
    job_id: z.string().openapi({ example: "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f" }),
    status: z.enum(["Queued", "Running"]),
    status_url: z.string().openapi({
      example: "/v1/convert/job/019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f",
      description: "poll it; when Succeeded, calling the same endpoint again returns the cached rendition",
    }),
  })
  .openapi("RenditionPending");

/** Response headers of the rendition endpoints. */
/** The 202 of both rendition routes (POST /v1/files/{file_id}/convert, POST /v1/runs/{run_id}/export). */
export const RenditionPendingResponse = {
  description:
    "still converting after the `wait` the request sent (without `wait`: 502 `convert.still_running`, seed 000's vocabulary)",
  content: { "application/json": { schema: RenditionPendingResponseSchema } },
};

export const RenditionResponseHeaders = z.object({
  "x-d1-bookmark": z
    .string()
    .openapi({ description: "D1 session bookmark: send it back as `x-d1-bookmark` for read-your-writes" }),
  "x-rendition-cache": z
    .enum(["hit", "miss"])
    .openapi({ description: "hit: served from the cache, nothing converted or charged" }),
});
