// POST /v1/convert and /v1/convert/batch: the async job API's front door. 202 with the job ids; the queue
// does the rest.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { ConvertOptions } from "../converter/client";
import { sha256Hex } from "../digests";
import { planOf } from "../domain/accounts";
import {
  canonicalOptions,
  convertibleFile,
  effectiveOptions,
  jobSpecFor,
  normalizeFormat,
  planConversion,
  queryOrBody,
} from "../domain/conversions";
import type { FileRow } from "../domain/files";
import {
  admitJobs,
  batchIdempotencyKeys,
  IdempotencyRace,
  idempotencyKeyOf,
  type JobRow,
  jobStatusResponse,
  replayIdempotent,
  replayIdempotentBatch,
} from "../domain/jobs";
import { MAX_BATCH_FILES } from "../domain/plans";
import {
  discardUploads,
  MULTIPART_OVERHEAD_BYTES,
  maxBatchSizeBytes,
  maxFileSizeBytes,
  type ReceivedUpload,
  recordUploads,
  uploadSink,
  uploadTimeouts,
} from "../domain/uploads";
import { assertWebhookUrl } from "../domain/webhook-addresses";
import { ApiError, validationError, validationHook } from "../errors";
import {
  apiKeySecurity,
  ConvertOptionsSchema,
  errorResponses,
  JobAcceptedResponseSchema,
  JobReplayResponseSchema,
  SheetQuerySchema,
} from "../schemas";
import { isMultipart, readOneDocumentForm, readUploadForm, streamingRoute } from "./upload-form";

// Checked by the handlers (assertWebhookUrl), so a refused URL is webhooks.invalid_url / blocked_address.
const WebhookUrlField = z.string().optional().openapi({
  description:
    'https URL POSTed a signed event when the job ends (see README "Webhooks"); signed with the account\'s secret (POST /v1/webhooks/signing-secret creates it, GET reads it)',
  example: "https://example.com/hooks/docconv",
});
const WebhookMetadataField = z
  .string()
  .max(4096)
  .optional()
  .openapi({ description: "echoed back as `metadata` in the webhook event" });

const JobFields = ConvertOptionsSchema.extend({
  fileId: z.string().optional().openapi({ description: "a file uploaded with POST /v1/files (instead of `file`)" }),
  targetFormat: z.string().min(1).openapi({ example: "pdf" }),
  webhookUrl: WebhookUrlField,
  webhookMetadata: WebhookMetadataField,
});
const ConvertForm = JobFields.extend({
  file: z.any().optional().openapi({
    type: "string",
    format: "binary",
    description: "the document (one file part, streamed to storage); or `fileId`",
  }),
});

const BatchFields = ConvertOptionsSchema.extend({
  fileIds: z
    .array(z.string())
    .optional()
    .openapi({ description: "uploaded files to convert (instead of or besides `files`)" }),
  targetFormat: z.string().min(1).openapi({ example: "pdf" }),
  webhookUrl: WebhookUrlField,
  webhookMetadata: WebhookMetadataField,
});
// The batch form's text fields as they arrive (fileIds repeated or comma-separated), and the form as documented.
const BatchFormFields = ConvertOptionsSchema.extend({
  fileIds: z.array(z.string()).optional(),
  targetFormat: z.string().min(1),
  webhookUrl: WebhookUrlField,
  webhookMetadata: WebhookMetadataField,
});
const BatchForm = ConvertOptionsSchema.extend({
  files: z
    .any()
    .optional()
    .openapi({
      type: "array",
      items: { type: "string", format: "binary" },
      description: "the documents (repeat the field; each streamed to storage)",
    }),
  fileIds: z
    .any()
    .optional()
    .openapi({ type: "array", items: { type: "string" }, description: "repeat the field, or comma-separated" }),
  targetFormat: z.string().min(1),
  webhookUrl: WebhookUrlField,
  webhookMetadata: WebhookMetadataField,
});

export const BatchAcceptedSchema = z
  .object({
    jobs: z.array(JobAcceptedResponseSchema.extend({ fileId: z.string(), filename: z.string() })),
    creditCost: z.number().int().openapi({ description: "the whole batch's cost" }),
  })
  .openapi("BatchAcceptedResponse");

export const BatchReplaySchema = z
  .object({
    jobs: z.array(JobReplayResponseSchema),
    creditCost: z.number().int().openapi({ description: "what the whole batch was charged when it was admitted" }),
  })
  .openapi("BatchReplayResponse");

const submit = createRoute({
  method: "post",
  path: "/v1/convert",
  tags: ["Jobs"],
  summary: "Submit a conversion job",
  description:
    "Multipart with `file` (or `fileId`) and `targetFormat`, or JSON with `fileId`. Images (`png`, `jpg`) of a multi-page document are every page (a ZIP) unless `pages` selects some. `sheet` may also be the query parameter `?sheet=`. A multipart body is read as a stream: fields in any order, the file streamed to storage (at most MAX_FILE_SIZE_BYTES: 413 as soon as it crosses it; a body cut off is 400 `request.incomplete_body`, nothing stored or charged); unknown or repeated fields are 400. Credits are debited at submission and refunded if the job fails or is canceled. Send `Idempotency-Key` to make retries safe: for 24 hours, the same key with the same request (the file compared by its SHA-256) answers the same job as it is now (`JobReplayResponse`, header `Idempotent-Replayed: true`) without a second charge; the same key with another request is 422 `request.idempotency_mismatch`. After 24 hours the key is free again: the same request makes a new job. A `fileId` of a run's output (`file_run_…`) whose output has expired is 410 `runs.output_expired`, nothing charged.",
  security: apiKeySecurity,
  request: {
    query: SheetQuerySchema,
    headers: z.object({ "idempotency-key": z.string().max(255).optional() }),
    body: { content: { "multipart/form-data": { schema: ConvertForm }, "application/json": { schema: JobFields } } },
  },
  responses: {
    202: {
      description: "accepted; or, for an Idempotency-Key replay, the job as it is now",
      headers: z.object({
        "Idempotent-Replayed": z.literal("true").optional().openapi({ description: "set on a replay" }),
      }),
      content: { "application/json": { schema: z.union([JobAcceptedResponseSchema, JobReplayResponseSchema]) } },
    },
    ...errorResponses(400, 401, 402, 404, 410, 413, 415, 422, 429),
  },
});

const batch = createRoute({
  method: "post",
  path: "/v1/convert/batch",
  tags: ["Jobs"],
  summary: "Submit several files at once, one job each",
  description: `Up to ${MAX_BATCH_FILES} files, and in total (uploads and \`fileIds\` together) at most MAX_FILE_SIZE_BYTES: the platform caps the request body at the same size (413 \`limits.batch_too_large\` as soon as it is crossed). All or nothing: if any file is refused or the credits do not cover the whole batch, no job is created, nothing is stored and nothing is charged. Send \`Idempotency-Key\` to make retries safe: for 24 hours, the same key with the same batch (the same files in the same order, each compared by its SHA-256 or id, and the same fields) answers the same jobs as they are now (\`BatchReplayResponse\`, header \`Idempotent-Replayed: true\`) without a second charge; with a different request, 422 \`request.idempotency_mismatch\`. A key is one request: a single job's key used for a batch is a different request. After 24 hours the key is free again: the same batch makes new jobs.`,
  security: apiKeySecurity,
  request: {
    query: SheetQuerySchema,
    headers: z.object({ "idempotency-key": z.string().max(255).optional() }),
    body: { content: { "multipart/form-data": { schema: BatchForm }, "application/json": { schema: BatchFields } } },
  },
  responses: {
    202: {
      description: "accepted; or, for an Idempotency-Key replay, the jobs as they are now",
      headers: z.object({
        "Idempotent-Replayed": z.literal("true").optional().openapi({ description: "set on a replay" }),
      }),
      content: { "application/json": { schema: z.union([BatchAcceptedSchema, BatchReplaySchema]) } },
    },
    ...errorResponses(400, 401, 402, 404, 410, 413, 415, 422, 429),
  },
});

// The media types the validators parse (case-insensitive, RFC 9110 §8.3.1), matched the way they match them.
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/;
const FORM_MEDIA_TYPES = new Set(["multipart/form-data", "application/x-www-form-urlencoded"]);

/**
 * A body without files (JSON, or a URL-encoded form: small, capped by fieldsBodyLimit), validated by `schema`;
 * media types matched as the framework's validators match them (case-insensitive, application/*+json).
 */
async function fieldsBody<T>(c: Context<AppEnv>, schema: z.ZodType<T>): Promise<T> {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (JSON_MEDIA_TYPE.test(mediaType)) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new ApiError("request.invalid", "the body is not valid JSON");
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw validationError(parsed.error, "json");
    return parsed.data;
  }
  if (FORM_MEDIA_TYPES.has(mediaType))
    return formFields(schema, (await c.req.parseBody({ all: true })) as Record<string, string | string[]>);
  if (mediaType)
    throw new ApiError(
      "request.unsupported_content_type",
      `send the body as multipart/form-data, application/x-www-form-urlencoded or JSON (not ${mediaType})`,
    );
  throw new ApiError(
    "request.invalid",
    "send the request as multipart/form-data, application/x-www-form-urlencoded or JSON",
  );
}

function formFields<T>(schema: z.ZodType<T>, fields: Record<string, string | string[] | unknown>): T {
  const parsed = schema.safeParse(fields);
  if (!parsed.success) throw validationError(parsed.error, "form");
  return parsed.data;
}

/** `?sheet=` as the documentation states it (the zod-openapi validators are not in front of these routes). */
function checkQuery(c: Context<AppEnv>): void {
  const query = SheetQuerySchema.safeParse(c.req.query());
  if (!query.success) throw validationError(query.error, "query");
}

/** The job's options: `?sheet=` merged with the body's, and what "every page" means spelled one way. */
const optionsOf = (c: Context<AppEnv>, input: ConvertOptions & { targetFormat: string }) => {
  const sheet = queryOrBody("sheet", c.req.query("sheet"), input.sheet);
  return canonicalOptions(
    effectiveOptions(
      input.targetFormat,
      {
        sheet,
        pages: input.pages,
        dpi: input.dpi,
        quality: input.quality,
        pdfa: input.pdfa,
        escapeFormulas: input.escapeFormulas,
      },
      "every-page",
    ),
  );
};

/** An Idempotency-Key replay answers the job as it is now, not as it was admitted. */
async function replayed(c: Context<AppEnv>, job: JobRow): Promise<Response> {
  c.header("Location", `/v1/convert/job/${job.id}`);
  c.header("Idempotent-Replayed", "true");
  return c.json(
    { ...(await jobStatusResponse(c.env, job, c.var.svc.origin ?? null)), creditCost: job.creditCost },
    202,
  );
}

/** POST /v1/convert: one job, for an upload streamed in with the request or an uploaded file's id. */
async function submitJob(c: Context<AppEnv>): Promise<Response> {
  const caller = c.var.caller;
  checkQuery(c);
  const idempotencyKey = idempotencyKeyOf(c.req.header("idempotency-key"));
  let input: z.infer<typeof JobFields>;
  let upload: ReceivedUpload | undefined;
  if (isMultipart(c.req.raw)) {
    const form = await readOneDocumentForm(c, Object.keys(JobFields.shape));
    upload = form.files[0];
    try {
      input = formFields(JobFields, form.fields);
    } catch (err) {
      await discardUploads(c.var.svc, form.files);
      throw err;
    }
  } else {
    input = await fieldsBody(c, JobFields);
  }

  let recorded: FileRow | undefined;
  let requestHash: string | null = null;
  try {
    const options = optionsOf(c, input);
    if (!upload && !input.fileId)
      throw new ApiError(
        "request.missing_file",
        "send the document as `file`, or the id of an uploaded file as `fileId`",
      );
    if (upload && input.fileId) throw new ApiError("request.invalid", "send either `file` or `fileId`, not both");
    const webhookUrl = input.webhookUrl ? assertWebhookUrl(input.webhookUrl, c.env) : null;

    if (idempotencyKey) {
      // The file by the SHA-256 computed while it streamed in: no second copy is read.
      const source = upload ? `sha256:${upload.sha256}` : `file:${input.fileId}`;
      // Everything the job is made of, each spelled one way (the target's aliases, the URL as checked).
      requestHash = await sha256Hex(
        JSON.stringify([
          source,
          normalizeFormat(input.targetFormat),
          options,
          webhookUrl,
          input.webhookMetadata ?? null,
        ]),
      );
      const existing = await replayIdempotent(c.var.svc, caller.accountId, idempotencyKey, requestHash);
      if (existing) {
        await upload?.discard();
        return replayed(c, existing);
      }
    }

    const file = upload
      ? (recorded = (await recordUploads(c.var.svc, [upload]))[0]!)
      : await convertibleFile(c.var.svc, caller, input.fileId!);
    const { quote, target } = planConversion(c.env, file, input.targetFormat, options);
    const [job] = await admitJobs(c.var.svc, await planOf(c.var.svc, caller.accountId), [
      jobSpecFor(file, target, options, quote, {
        accountId: caller.accountId,
        apiKeyId: caller.apiKeyId,
        kind: "job",
        idempotencyKey,
        requestHash,
        webhookUrl,
        webhookMetadata: input.webhookMetadata ?? null,
      }),
    ]);
    c.header("Location", `/v1/convert/job/${job!.id}`);
    return c.json({ id: job!.id, status: "Queued" as const, creditCost: job!.creditCost }, 202);
  } catch (err) {
    // An upload made only for this job goes with it when the job is refused.
    if (recorded) await discardUploads(c.var.svc, [], [recorded]);
    else if (upload) await upload.discard();
    if (err instanceof IdempotencyRace && idempotencyKey && requestHash) {
      const winner = await replayIdempotent(c.var.svc, caller.accountId, idempotencyKey, requestHash);
      if (winner) return replayed(c, winner);
    }
    throw err;
  }
}

/** POST /v1/convert/batch: one job per file, all or nothing. */
async function submitBatch(c: Context<AppEnv>): Promise<Response> {
  const caller = c.var.caller;
  checkQuery(c);
  const idempotencyKey = idempotencyKeyOf(c.req.header("idempotency-key"));
  const batchLimit = maxBatchSizeBytes(c.env);
  const tooLarge = (bytes?: number) =>
    new ApiError(
      "limits.batch_too_large",
      bytes === undefined
        ? `the batch's request body exceeds ${batchLimit + MULTIPART_OVERHEAD_BYTES} bytes`
        : `the batch's files total ${bytes} bytes; at most ${batchLimit}`,
      { maxBatchSizeBytes: batchLimit },
    );
  let input: { fileIds?: unknown } & z.infer<typeof BatchFormFields>;
  let uploads: ReceivedUpload[] = [];
  if (isMultipart(c.req.raw)) {
    let streamed = 0;
    const form = await readUploadForm(c.req.raw, {
      fields: Object.keys(BatchFormFields.shape),
      repeatable: ["fileIds"],
      fileField: "files",
      maxFiles: MAX_BATCH_FILES,
      tooManyFiles: () =>
        new ApiError("limits.batch_too_large", `a batch holds at most ${MAX_BATCH_FILES} files`, {
          maxBatchFiles: MAX_BATCH_FILES,
        }),
      maxBodyBytes: batchLimit + MULTIPART_OVERHEAD_BYTES,
      tooLarge: () => tooLarge(),
      openFile: (name) =>
        uploadSink(c.env, caller.accountId, name, {
          maxFileBytes: maxFileSizeBytes(c.env),
          onBytes: (bytes) => {
            streamed += bytes;
            if (streamed > batchLimit) throw tooLarge(streamed);
          },
        }),
      discard: (received) => received.discard(),
      timeouts: uploadTimeouts(c.env),
    });
    uploads = form.files;
    try {
      input = formFields(BatchFormFields, form.fields);
    } catch (err) {
      await discardUploads(c.var.svc, uploads);
      throw err;
    }
  } else {
    // JSON sends fileIds as an array; a URL-encoded form repeats the field (one value is a string).
    input = (await fieldsBody(
      c,
      BatchFields.extend({ fileIds: z.union([z.array(z.string()), z.string()]).optional() }),
    )) as typeof input;
  }

  let recorded: FileRow[] = [];
  let requestHash: string | null = null;
  try {
    const options = optionsOf(c, input);
    const fileIds = ([] as unknown[])
      .concat(input.fileIds ?? [])
      .flatMap((v) => String(v).split(","))
      .map((v) => v.trim())
      .filter(Boolean);
    const count = uploads.length + fileIds.length;
    if (count === 0)
      throw new ApiError("request.missing_file", "send documents as repeated `files` fields, or ids as `fileIds`");
    if (count > MAX_BATCH_FILES)
      throw new ApiError(
        "limits.batch_too_large",
        `a batch holds at most ${MAX_BATCH_FILES} files; this one has ${count}`,
        { maxBatchFiles: MAX_BATCH_FILES },
      );
    const webhookUrl = input.webhookUrl ? assertWebhookUrl(input.webhookUrl, c.env) : null;

    if (idempotencyKey) {
      // The whole batch, each file by its SHA-256 (computed while it streamed in) or its id, in order.
      requestHash = await sha256Hex(
        JSON.stringify([
          "batch",
          uploads.map((u) => `sha256:${u.sha256}`),
          fileIds.map((id) => `file:${id}`),
          normalizeFormat(input.targetFormat),
          options,
          webhookUrl,
          input.webhookMetadata ?? null,
        ]),
      );
      const replayed = await replayIdempotentBatch(c.var.svc, caller.accountId, idempotencyKey, requestHash);
      if (replayed) {
        await discardUploads(c.var.svc, uploads);
        uploads = [];
        return replayedBatch(c, replayed);
      }
    }

    const existing = await Promise.all(fileIds.map((id) => convertibleFile(c.var.svc, caller, id)));
    const totalBytes = uploads.reduce((s, u) => s + u.row.bytes, 0) + existing.reduce((s, f) => s + f.bytes, 0);
    if (totalBytes > batchLimit) throw tooLarge(totalBytes);
    recorded = await recordUploads(c.var.svc, uploads);
    const files = [...recorded, ...existing];
    const keys = idempotencyKey ? batchIdempotencyKeys(idempotencyKey, files.length) : [];
    const specs = files.map((file, i) => {
      const { quote, target } = planConversion(c.env, file, input.targetFormat, options);
      return jobSpecFor(file, target, options, quote, {
        accountId: caller.accountId,
        apiKeyId: caller.apiKeyId,
        kind: "job",
        idempotencyKey: keys[i] ?? null,
        requestHash,
        webhookUrl,
        webhookMetadata: input.webhookMetadata ?? null,
      });
    });
    const jobs = await admitJobs(c.var.svc, await planOf(c.var.svc, caller.accountId), specs);
    return c.json(
      {
        jobs: jobs.map((j, i) => ({
          id: j.id,
          status: "Queued" as const,
          creditCost: j.creditCost,
          fileId: files[i]!.id,
          filename: files[i]!.filename,
        })),
        creditCost: jobs.reduce((s, j) => s + j.creditCost, 0),
      },
      202,
    );
  } catch (err) {
    await discardUploads(c.var.svc, recorded.length ? [] : uploads, recorded);
    if (err instanceof IdempotencyRace && idempotencyKey && requestHash) {
      const winner = await replayIdempotentBatch(c.var.svc, caller.accountId, idempotencyKey, requestHash);
      if (winner) return replayedBatch(c, winner);
    }
    throw err;
  }
}

/** A batch's Idempotency-Key replay answers its jobs, in order, as they are now. */
async function replayedBatch(c: Context<AppEnv>, jobs: JobRow[]): Promise<Response> {
  c.header("Idempotent-Replayed", "true");
  const origin = c.var.svc.origin ?? null;
  return c.json(
    {
      jobs: await Promise.all(
        jobs.map(async (job) => ({ ...(await jobStatusResponse(c.env, job, origin)), creditCost: job.creditCost })),
      ),
      creditCost: jobs.reduce((s, j) => s + j.creditCost, 0),
    },
    202,
  );
}

// Documented like the other routes; served without zod-openapi's validators, which would read the body whole.
export const convertRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
streamingRoute(convertRoutes, submit, submitJob);
streamingRoute(convertRoutes, batch, submitBatch);
