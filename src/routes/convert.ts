// POST /v1/convert: the async job API's front door. 202 with the job id; the queue does the rest.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { hashApiKey } from "../auth/api-keys";
import { ownedOr404 } from "../auth/scope";
import { getAccount } from "../db/accounts";
import { findFile, type FileRow } from "../db/files";
import { ApiError, validationHook } from "../errors";
import { canonicalOptions, jobSpecFor, planConversion } from "../domain/conversions";
import { admitJobs, replayIdempotent } from "../domain/jobs";
import { storeUpload } from "../domain/uploads";
import { apiKeySecurity, ConvertOptionsSchema, errorResponses, JobAcceptedResponseSchema } from "../schemas";

const JobFields = ConvertOptionsSchema.extend({
  fileId: z.string().optional().openapi({ description: "a file uploaded with POST /v1/files (instead of `file`)" }),
  targetFormat: z.string().min(1).openapi({ example: "pdf" }),
  webhookUrl: z.string().url().optional().openapi({ description: "https URL called when the job ends" }),
  webhookMetadata: z.string().max(4096).optional().openapi({ description: "echoed back in the webhook event" }),
});

const ConvertForm = JobFields.extend({ file: z.any().optional().openapi({ type: "string", format: "binary" }) });

const submit = createRoute({
  method: "post",
  path: "/v1/convert",
  tags: ["Jobs"],
  summary: "Submit a conversion job",
  description:
    "Multipart with `file` (or `fileId`) and `targetFormat`, or JSON with `fileId`. Credits are debited at submission and refunded if the job fails or is canceled. Send `Idempotency-Key` to make retries safe.",
  security: apiKeySecurity,
  request: {
    headers: z.object({ "idempotency-key": z.string().max(255).optional() }),
    body: {
      content: {
        "multipart/form-data": { schema: ConvertForm },
        "application/json": { schema: JobFields },
      },
    },
  },
  responses: {
    202: { description: "accepted", content: { "application/json": { schema: JobAcceptedResponseSchema } } },
    ...errorResponses(400, 401, 402, 404, 413, 415, 422, 429),
  },
});

type JobInput = z.infer<typeof ConvertForm>;

function readInput(c: Context<AppEnv>): JobInput {
  const ct = c.req.header("content-type") ?? "";
  // @ts-expect-error the validated target depends on the content type
  if (ct.startsWith("application/json")) return c.req.valid("json") as JobInput;
  // @ts-expect-error see above
  if (ct.startsWith("multipart/form-data") || ct.startsWith("application/x-www-form-urlencoded")) return c.req.valid("form") as JobInput;
  throw new ApiError("request.invalid", "send multipart/form-data (with `file` or `fileId`) or JSON (with `fileId`)");
}

export const convertRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(submit, async (c) => {
  const input = readInput(c);
  const caller = c.var.caller;
  const options = canonicalOptions({ sheet: input.sheet, pages: input.pages, dpi: input.dpi, quality: input.quality, pdfa: input.pdfa });
  const idempotencyKey = c.req.header("idempotency-key") ?? null;
  const upload = input.file instanceof File ? input.file : null;
  if (!upload && !input.fileId) throw new ApiError("request.missing_file", "send the document as `file`, or the id of an uploaded file as `fileId`");

  let requestHash: string | null = null;
  if (idempotencyKey) {
    const source = upload ? `sha256:${await digestFile(upload)}` : `file:${input.fileId}`;
    requestHash = await hashApiKey(JSON.stringify([source, input.targetFormat.toLowerCase(), options, input.webhookUrl ?? null]));
    const existing = await replayIdempotent(c.var.db, caller.accountId, idempotencyKey, requestHash);
    if (existing) return c.json({ id: existing.id, status: "Queued" as const, creditCost: existing.creditCost }, 202);
  }

  const file: FileRow = upload
    ? await storeUpload(c.env, c.var.db, caller.accountId, upload, "conversion")
    : ownedOr404(await findFile(c.var.db, input.fileId!), caller, "files.not_found", "file");
  const { quote, target } = planConversion(c.env, file, input.targetFormat, options);
  const account = await getAccount(c.var.db, caller.accountId);
  const [job] = await admitJobs({ env: c.env, db: c.var.db, d1: c.env.DB }, account.planId, [
    jobSpecFor(file, target, options, quote, {
      accountId: caller.accountId,
      apiKeyId: caller.apiKeyId,
      kind: "job",
      idempotencyKey,
      requestHash,
      webhookUrl: input.webhookUrl ?? null,
      webhookMetadata: input.webhookMetadata ?? null,
    }),
  ]);
  c.header("Location", `/v1/convert/job/${job!.id}`);
  return c.json({ id: job!.id, status: "Queued" as const, creditCost: job!.creditCost }, 202);
});

async function digestFile(file: File): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
