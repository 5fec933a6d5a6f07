// POST /v1/convert and /v1/convert/batch: the async job API's front door. 202 with the job ids; the queue
// does the rest.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { hashApiKey, toHex } from "../auth/api-keys";
import { ownedOr404, type Caller } from "../auth/scope";
import { getAccount } from "../db/accounts";
import { deleteFile, findFile, type FileRow } from "../db/files";
import { ApiError, validationHook } from "../errors";
import { canonicalOptions, effectiveOptions, jobSpecFor, normalizeFormat, planConversion, queryOrBody } from "../domain/conversions";
import { admitJobs, IdempotencyRace, replayIdempotent, type Services } from "../domain/jobs";
import { MAX_BATCH_FILES, MAX_BATCH_SIZE_BYTES } from "../domain/plans";
import { storeUpload } from "../domain/uploads";
import { assertWebhookUrl } from "../domain/webhook-addresses";
import type { ConvertOptions } from "../converter/client";
import { apiKeySecurity, ConvertOptionsSchema, errorResponses, JobAcceptedResponseSchema, SheetQuerySchema } from "../schemas";

// Checked by the handlers (assertWebhookUrl), so a refused URL is webhooks.invalid_url / blocked_address.
const WebhookUrlField = z.string().optional().openapi({
  description: "https URL POSTed a signed event when the job ends (see README \"Webhooks\"); signed with the account's secret from GET /v1/webhooks/signing-secret",
  example: "https://example.com/hooks/docconv",
});
const WebhookMetadataField = z.string().max(4096).optional().openapi({ description: "echoed back as `metadata` in the webhook event" });

const JobFields = ConvertOptionsSchema.extend({
  fileId: z.string().optional().openapi({ description: "a file uploaded with POST /v1/files (instead of `file`)" }),
  targetFormat: z.string().min(1).openapi({ example: "pdf" }),
  webhookUrl: WebhookUrlField,
  webhookMetadata: WebhookMetadataField,
});
const ConvertForm = JobFields.extend({ file: z.any().optional().openapi({ type: "string", format: "binary" }) });

const BatchFields = ConvertOptionsSchema.extend({
  fileIds: z.array(z.string()).optional().openapi({ description: "uploaded files to convert (instead of or besides `files`)" }),
  targetFormat: z.string().min(1).openapi({ example: "pdf" }),
  webhookUrl: WebhookUrlField,
  webhookMetadata: WebhookMetadataField,
});
const BatchForm = ConvertOptionsSchema.extend({
  files: z.any().optional().openapi({ type: "array", items: { type: "string", format: "binary" }, description: "the documents (repeat the field)" }),
  fileIds: z.any().optional().openapi({ type: "array", items: { type: "string" }, description: "repeat the field, or comma-separated" }),
  targetFormat: z.string().min(1),
  webhookUrl: WebhookUrlField,
  webhookMetadata: WebhookMetadataField,
});

const BatchAcceptedSchema = z
  .object({
    jobs: z.array(JobAcceptedResponseSchema.extend({ fileId: z.string(), filename: z.string() })),
    creditCost: z.number().int().openapi({ description: "the whole batch's cost" }),
  })
  .openapi("BatchAcceptedResponse");

const submit = createRoute({
  method: "post",
  path: "/v1/convert",
  tags: ["Jobs"],
  summary: "Submit a conversion job",
  description:
    "Multipart with `file` (or `fileId`) and `targetFormat`, or JSON with `fileId`. Images (`png`, `jpg`) of a multi-page document are every page (a ZIP) unless `pages` selects some. `sheet` may also be the query parameter `?sheet=`. Credits are debited at submission and refunded if the job fails or is canceled. Send `Idempotency-Key` to make retries safe: the same key with the same request returns the same job without a second charge.",
  security: apiKeySecurity,
  request: {
    query: SheetQuerySchema,
    headers: z.object({ "idempotency-key": z.string().max(255).optional() }),
    body: { content: { "multipart/form-data": { schema: ConvertForm }, "application/json": { schema: JobFields } } },
  },
  responses: {
    202: { description: "accepted", content: { "application/json": { schema: JobAcceptedResponseSchema } } },
    ...errorResponses(400, 401, 402, 404, 413, 415, 422, 429),
  },
});

const batch = createRoute({
  method: "post",
  path: "/v1/convert/batch",
  tags: ["Jobs"],
  summary: "Submit several files at once, one job each",
  description: `Up to ${MAX_BATCH_FILES} files and ${MAX_BATCH_SIZE_BYTES} bytes in total. All or nothing: if any file is refused or the credits do not cover the whole batch, no job is created and nothing is charged.`,
  security: apiKeySecurity,
  request: {
    query: SheetQuerySchema,
    body: { content: { "multipart/form-data": { schema: BatchForm }, "application/json": { schema: BatchFields } } },
  },
  responses: {
    202: { description: "accepted", content: { "application/json": { schema: BatchAcceptedSchema } } },
    ...errorResponses(400, 401, 402, 404, 413, 415, 422, 429),
  },
});

// The media types the validators parse (case-insensitive, RFC 9110 §8.3.1), matched the way they match them.
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/;
const FORM_MEDIA_TYPES = new Set(["multipart/form-data", "application/x-www-form-urlencoded"]);

function validatedBody<T>(c: Context<AppEnv>): T {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const valid = (c.req.valid as unknown as (target: "json" | "form") => T).bind(c.req);
  if (JSON_MEDIA_TYPE.test(mediaType)) return valid("json");
  if (FORM_MEDIA_TYPES.has(mediaType)) return valid("form");
  // Another media type never gets here (415 before the handler): this is a request without a body.
  throw new ApiError("request.invalid", "send the request as multipart/form-data, application/x-www-form-urlencoded or JSON");
}

/** The job's options: `?sheet=` merged with the body's, and what "every page" means spelled one way. */
const optionsOf = (c: Context<AppEnv>, input: ConvertOptions & { targetFormat: string }) => {
  const sheet = queryOrBody("sheet", c.req.query("sheet"), input.sheet);
  return canonicalOptions(effectiveOptions(input.targetFormat, { sheet, pages: input.pages, dpi: input.dpi, quality: input.quality, pdfa: input.pdfa, escapeFormulas: input.escapeFormulas }, "every-page"));
};

// The request's origin goes on the job: its webhook events link downloads there (no request then).
const services = (c: Context<AppEnv>): Services => ({ env: c.env, db: c.var.db, d1: c.env.DB, origin: new URL(c.req.url).origin });

async function visibleFile(c: Context<AppEnv>, caller: Caller, id: string): Promise<FileRow> {
  return ownedOr404(await findFile(c.var.db, id), caller, "files.not_found", "file");
}

export const convertRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(submit, async (c) => {
    const input = validatedBody<z.infer<typeof ConvertForm>>(c);
    const caller = c.var.caller;
    const options = optionsOf(c, input);
    const idempotencyKey = c.req.header("idempotency-key") ?? null;
    const upload = input.file instanceof File ? input.file : null;
    if (!upload && !input.fileId) throw new ApiError("request.missing_file", "send the document as `file`, or the id of an uploaded file as `fileId`");
    const webhookUrl = input.webhookUrl ? assertWebhookUrl(input.webhookUrl, c.env) : null;

    let requestHash: string | null = null;
    if (idempotencyKey) {
      const source = upload ? `sha256:${toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", await upload.arrayBuffer())))}` : `file:${input.fileId}`;
      // Everything the job is made of, each spelled one way (the target's aliases, the URL as checked).
      requestHash = await hashApiKey(JSON.stringify([source, normalizeFormat(input.targetFormat), options, webhookUrl, input.webhookMetadata ?? null]));
      const existing = await replayIdempotent(c.var.db, caller.accountId, idempotencyKey, requestHash);
      if (existing) return c.json({ id: existing.id, status: "Queued" as const, creditCost: existing.creditCost }, 202);
    }

    const file = upload ? await storeUpload(c.env, c.var.db, caller.accountId, upload, "conversion") : await visibleFile(c, caller, input.fileId!);
    try {
      const { quote, target } = planConversion(c.env, file, input.targetFormat, options);
      const account = await getAccount(c.var.db, caller.accountId);
      const [job] = await admitJobs(services(c), account.planId, [
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
      if (upload) await deleteFile(c.env, c.var.db, file);
      if (err instanceof IdempotencyRace && idempotencyKey && requestHash) {
        const winner = await replayIdempotent(c.var.db, caller.accountId, idempotencyKey, requestHash);
        if (winner) return c.json({ id: winner.id, status: "Queued" as const, creditCost: winner.creditCost }, 202);
      }
      throw err;
    }
  })
  .openapi(batch, async (c) => {
    const input = validatedBody<z.infer<typeof BatchForm>>(c);
    const caller = c.var.caller;
    const options = optionsOf(c, input);
    const uploads = ([] as unknown[]).concat(input.files ?? []).filter((f): f is File => f instanceof File);
    const fileIds = ([] as unknown[])
      .concat(input.fileIds ?? [])
      .flatMap((v) => String(v).split(","))
      .map((v) => v.trim())
      .filter(Boolean);
    const count = uploads.length + fileIds.length;
    if (count === 0) throw new ApiError("request.missing_file", "send documents as repeated `files` fields, or ids as `fileIds`");
    if (count > MAX_BATCH_FILES) throw new ApiError("limits.batch_too_large", `a batch holds at most ${MAX_BATCH_FILES} files; this one has ${count}`, { maxBatchFiles: MAX_BATCH_FILES });
    const webhookUrl = input.webhookUrl ? assertWebhookUrl(input.webhookUrl, c.env) : null;

    const existing = await Promise.all(fileIds.map((id) => visibleFile(c, caller, id)));
    const totalBytes = uploads.reduce((s, f) => s + f.size, 0) + existing.reduce((s, f) => s + f.bytes, 0);
    if (totalBytes > MAX_BATCH_SIZE_BYTES) {
      throw new ApiError("limits.batch_too_large", `the batch's files total ${totalBytes} bytes; at most ${MAX_BATCH_SIZE_BYTES}`, { maxBatchSizeBytes: MAX_BATCH_SIZE_BYTES });
    }
    const stored: FileRow[] = [];
    try {
      for (const f of uploads) stored.push(await storeUpload(c.env, c.var.db, caller.accountId, f, "conversion"));
      const files = [...stored, ...existing];
      const specs = files.map((file) => {
        const { quote, target } = planConversion(c.env, file, input.targetFormat, options);
        return jobSpecFor(file, target, options, quote, {
          accountId: caller.accountId,
          apiKeyId: caller.apiKeyId,
          kind: "job",
          webhookUrl,
          webhookMetadata: input.webhookMetadata ?? null,
        });
      });
      const account = await getAccount(c.var.db, caller.accountId);
      const jobs = await admitJobs(services(c), account.planId, specs);
      return c.json(
        {
          jobs: jobs.map((j, i) => ({ id: j.id, status: "Queued" as const, creditCost: j.creditCost, fileId: files[i]!.id, filename: files[i]!.filename })),
          creditCost: jobs.reduce((s, j) => s + j.creditCost, 0),
        },
        202,
      );
    } catch (err) {
      for (const file of stored) await deleteFile(c.env, c.var.db, file);
      throw err;
    }
  });
