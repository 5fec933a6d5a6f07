// The job pipeline's rules, free of HTTP: admission (limits, credits, idempotency), what a caller sees of a
// job, cancellation, and what happens when a job ends. Both API families (files/runs and jobs) enter here.

import type { z } from "@hono/zod-openapi";
import { type Caller, ownedOr404 } from "../auth/scope";
import type { ConvertOptions } from "../converter/client";
import {
  admissionFailure,
  admitJobStatements,
  endJobWithRefund,
  findByIdempotencyKey,
  findByIdempotencyKeys,
  findJob,
  type JobRow,
  listJobs,
  markEnqueuedStatements,
  type NewJob,
  releaseIdempotencyKeys,
} from "../db/jobs";
import { JOB_STATUSES, type JobStatus } from "../db/schema";
import { ApiError } from "../errors";
import { isUuidV7, uuidv7 } from "../ids";
import type { JobMessage } from "../queue/messages";
import type { JobStatusResponseSchema } from "../schemas";
import { serveObject } from "../storage/r2";
import { signDownloadUrl, verifyDownloadToken } from "../storage/signed-urls";
import { jobName } from "./formats";
import { jobEnded } from "./job-events";
import { MAX_BATCH_FILES, PLANS, type PlanId, utcDay } from "./plans";
import type { Services } from "./services";
import { newEventId, webhookOutbox } from "./webhooks";

export type { JobRow, JobStatus };
export { JOB_STATUSES };

export interface JobSpec {
  accountId: string;
  apiKeyId: string | null;
  kind: "job" | "rendition";
  fileId: string;
  sourceFormat: string;
  targetFormat: string;
  options: ConvertOptions;
  creditCost: number;
  inputBytes: number;
  inputPages: number | null;
  idempotencyKey?: string | null;
  requestHash?: string | null;
  webhookUrl?: string | null;
  webhookMetadata?: string | null;
}

export function newJobRow(spec: JobSpec, now: number, origin: string | null = null): NewJob & { id: string } {
  return {
    id: uuidv7(now),
    accountId: spec.accountId,
    apiKeyId: spec.apiKeyId,
    kind: spec.kind,
    fileId: spec.fileId,
    sourceFormat: spec.sourceFormat,
    targetFormat: spec.targetFormat,
    options: JSON.stringify(spec.options),
    status: "Queued",
    phase: "queued",
    percent: 0,
    creditCost: spec.creditCost,
    inputBytes: spec.inputBytes,
    inputPages: spec.inputPages,
    idempotencyKey: spec.idempotencyKey ?? null,
    requestHash: spec.requestHash ?? null,
    webhookUrl: spec.webhookUrl ?? null,
    webhookMetadata: spec.webhookMetadata ?? null,
    origin,
    createdAt: now,
  };
}

/**
 * Admits jobs all-or-nothing in one D1 batch (debit + records), then queues them. `extra` statements join
 * the same batch (a rendition's cache row). Limits and balances are enforced by the batch itself.
 */
export async function admitJobs(
  svc: Services,
  planId: PlanId,
  specs: JobSpec[],
  extra: (rows: (NewJob & { id: string })[]) => D1PreparedStatement[] = () => [],
): Promise<(NewJob & { id: string })[]> {
  const now = Date.now();
  const plan = PLANS[planId];
  const rows = specs.map((s) => newJobRow(s, now, svc.origin ?? null));
  const statements = rows.flatMap((row) => admitJobStatements(svc.d1, row, plan.maxConcurrentJobs, utcDay(now)));
  try {
    await svc.d1.batch([...statements, ...extra(rows)]);
  } catch (err) {
    const why = admissionFailure(err);
    if (why === "concurrency") {
      throw new ApiError(
        "limits.concurrent_jobs",
        `at most ${plan.maxConcurrentJobs} jobs may be queued or running at once on the ${plan.name} plan`,
        { maxConcurrentJobs: plan.maxConcurrentJobs },
        { "Retry-After": "5" },
      );
    }
    if (why === "credits") {
      const needed = specs.reduce((s, j) => s + j.creditCost, 0);
      throw new ApiError("credits.insufficient", `this needs ${needed} credits and the balance is too low`, {
        creditCost: needed,
      });
    }
    if (why === "idempotency") throw new IdempotencyRace();
    if (why === "daily") {
      throw new ApiError(
        "credits.daily_limit_reached",
        `the ${plan.name} plan's daily limit of ${plan.dailyLimit} credits would be passed; it resets at UTC midnight`,
        { dailyLimit: plan.dailyLimit },
      );
    }
    throw err;
  }
  try {
    await enqueueJobs(
      svc.env,
      rows.map((r) => r.id),
    );
  } catch (err) {
    // The jobs are recorded and paid for; the sweeper sends messages for jobs left Queued too long.
    console.error("enqueue failed; the sweeper will resend", err);
  }
  return rows;
}

/** Another request with the same Idempotency-Key admitted its job first: replay that one. */
export class IdempotencyRace extends Error {}

/**
 * Sends the jobs' messages. Every send after admission (a retry, back-pressure, the sweeper, the dead-letter
 * consumer) goes through `resendJobs`, which records it; admission records it in the job's own insert.
 */
export async function enqueueJobs(env: Env, ids: string[], delaySeconds = 0): Promise<void> {
  if (ids.length === 0) return;
  const delay = Math.max(0, Math.min(MAX_QUEUE_DELAY_SECONDS, Math.round(delaySeconds)));
  const messages = ids.map((jobId) => ({
    body: { type: "convert", jobId } satisfies JobMessage,
    contentType: "json" as const,
    ...(delay > 0 ? { delaySeconds: delay } : {}),
  }));
  for (let i = 0; i < messages.length; i += 100) await env.JOBS_QUEUE.sendBatch(messages.slice(i, i + 100));
}

// Queues cap a message's delay at 12 hours.
const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;

/** A fresh message for Queued jobs, its send recorded first (the sweeper measures lost messages from it). */
export async function resendJobs(svc: Services, ids: string[], delaySeconds = 0, now = Date.now()): Promise<void> {
  if (ids.length === 0) return;
  const marks = markEnqueuedStatements(svc.d1, ids, now);
  if (marks.length) await svc.d1.batch(marks);
  await enqueueJobs(svc.env, ids, delaySeconds);
}

// An Idempotency-Key holds for a day after its job was admitted; later, the same key makes a new job.
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3600 * 1000;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * The request's Idempotency-Key, or null: at most 255 visible ASCII characters (the IETF draft's sf-string;
 * a UUID is typical). Checked before the body is read, so a refused key stores nothing.
 */
export function idempotencyKeyOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(header))
    throw new ApiError(
      "request.invalid",
      `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (a UUID, say)`,
    );
  return header;
}

/** An Idempotency-Key replay: the same job for the same request, a clear error for a different one. */
export async function replayIdempotent(
  svc: Services,
  accountId: string,
  key: string,
  requestHash: string,
  now = Date.now(),
): Promise<JobRow | null> {
  const existing = await findByIdempotencyKey(svc.db, accountId, key);
  if (!existing) return null;
  if (existing.createdAt <= now - IDEMPOTENCY_KEY_TTL_MS) {
    // Expired: the old job (or batch: each of its jobs) lets go of the key (its unique index would refuse the new
    // one) and this is a new request.
    await releaseIdempotencyKeys(svc.d1, accountId, batchIdempotencyKeys(key, MAX_BATCH_FILES));
    return null;
  }
  if (existing.requestHash !== requestHash) {
    throw new ApiError("request.idempotency_mismatch", "this Idempotency-Key was used for a different request", {
      idempotencyKey: key,
    });
  }
  return existing;
}

/**
 * A batch's Idempotency-Key on its jobs: the first job carries the key itself (so a single job and a batch
 * cannot share a key for different requests), the others the key and their position after a newline, which
 * no header value contains.
 */
export function batchIdempotencyKeys(key: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? key : `${key}\n${i}`));
}

/** A batch replay: the same jobs, in order, as they are now, for the same request; a clear error for a different one. */
export async function replayIdempotentBatch(
  svc: Services,
  accountId: string,
  key: string,
  requestHash: string,
  now = Date.now(),
): Promise<JobRow[] | null> {
  const first = await replayIdempotent(svc, accountId, key, requestHash, now);
  if (!first) return null;
  const keys = batchIdempotencyKeys(key, MAX_BATCH_FILES);
  const rows = await findByIdempotencyKeys(svc.db, accountId, keys);
  return rows
    .filter((r) => r.requestHash === requestHash)
    .sort((a, b) => keys.indexOf(a.idempotencyKey!) - keys.indexOf(b.idempotencyKey!));
}

/** Ends an active job as Canceled, refunded, its webhooks written in the same batch. */
export function cancelJob(svc: Services, job: Pick<JobRow, "id" | "accountId" | "creditCost">): Promise<boolean> {
  return endActiveJob(svc, job, "Canceled", null, null);
}

/**
 * Ends an active job as Failed, refunded, its webhooks written in the same batch. `attempt`: a claim failing
 * its own conversion, which must not fail a job another claim has taken over.
 */
export function failJob(
  svc: Services,
  job: Pick<JobRow, "id" | "accountId" | "creditCost">,
  code: string,
  detail: string,
  attempt?: number,
): Promise<boolean> {
  return endActiveJob(svc, job, "Failed", code, detail, attempt);
}

async function endActiveJob(
  svc: Services,
  job: Pick<JobRow, "id" | "accountId" | "creditCost">,
  status: "Failed" | "Canceled",
  errorCode: string | null,
  errorDetail: string | null,
  attempt?: number,
): Promise<boolean> {
  const now = Date.now();
  const eventId = newEventId();
  const phase = status === "Failed" ? "failed" : "canceled";
  const ended = await endJobWithRefund(
    svc.d1,
    job,
    // A claim ending its own attempt may end only that attempt, still Running.
    attempt === undefined
      ? { status, errorCode, errorDetail, phase, fromStatuses: ["Queued", "Running"] }
      : { status, errorCode, errorDetail, phase, fromStatuses: ["Running"], attempt },
    now,
    utcDay(now),
    webhookOutbox(svc.d1, job.id, status, eventId, now),
  );
  if (ended) await jobEnded(svc, job.id, eventId);
  return ended;
}

/** A job of the caller's account; anything else (another account's, not a job id) is not found. */
export async function visibleJob(svc: Services, caller: Caller, id: string): Promise<JobRow> {
  return ownedOr404(isUuidV7(id) ? await findJob(svc.db, id) : undefined, caller, "jobs.not_found", "job");
}

/** The caller's cancel: the job as it is afterwards, or 409 when it had already ended. */
export async function cancelVisibleJob(svc: Services, job: JobRow): Promise<JobRow> {
  const canceled = await cancelJob(svc, job);
  const after = (await findJob(svc.db, job.id))!;
  if (!canceled)
    throw new ApiError("jobs.already_finished", `the job is already ${after.status}`, { status: after.status });
  return after;
}

/** The account's jobs, newest first (ids are time-ordered); `before` is the last id of the previous page. */
export async function jobsPage(
  svc: Services,
  accountId: string,
  opts: { status?: JobStatus; limit: number; before?: string },
): Promise<{ page: JobRow[]; hasMore: boolean }> {
  const rows = await listJobs(svc.db, accountId, { ...opts, limit: opts.limit + 1 });
  return { page: rows.slice(0, opts.limit), hasMore: rows.length > opts.limit };
}

/** The job's output, streamed with Range and validators (storage/r2.ts), once it has Succeeded and while stored. */
export async function serveJobOutput(svc: Services, job: JobRow, request: Request): Promise<Response> {
  if (job.status !== "Succeeded") {
    throw new ApiError(
      "jobs.not_finished",
      `the job is ${job.status}; its output can be downloaded once it has Succeeded`,
      { status: job.status },
    );
  }
  if (!hasLiveOutput(job)) throw new ApiError("jobs.output_expired", "the job's output has expired and was deleted");
  const response = await serveObject(
    svc.env.BUCKET,
    job.outputKey!,
    request,
    job.outputFileName!,
    job.outputContentType!,
  );
  if (!response) throw new ApiError("jobs.output_expired", "the job's output is no longer stored");
  return response;
}

/** The output's download name: the input's base name with the new extension, or a named ZIP of many files. */
export function outputFileName(
  originalName: string,
  source: string,
  target: string,
  extension: string,
  fileCount: number,
): string {
  const base = baseName(originalName);
  if (extension === "zip" && fileCount > 1) return `${jobName(source, target)}-${base}-${fileCount}-outputs.zip`;
  return `${base}.${extension}`;
}

export function baseName(filename: string): string {
  const dot = filename.lastIndexOf(".");
  const base = dot > 0 ? filename.slice(0, dot) : filename;
  return base || "document";
}

/** Seed 003's JobStatusResponse, plus docconv's extra fields: the type of the one schema that documents it. */
export type JobStatusResponse = z.infer<typeof JobStatusResponseSchema>;

export function hasLiveOutput(job: JobRow, now = Date.now()): boolean {
  return job.status === "Succeeded" && !!job.outputKey && (job.outputExpiresAt === null || job.outputExpiresAt > now);
}

/**
 * What a caller sees of a job, as seed 003 states it: while Queued or Running `percent` and both byte counts
 * are 0 and `phase` names the step; once finished the phase is null, the byte counts are numbers (0 where
 * nothing was produced), `error` is set only when Failed and `output` only when Succeeded and still stored.
 * `origin`: where download links point; null (no known public origin) leaves `download_url` null.
 */
export async function jobStatusResponse(env: Env, job: JobRow, origin: string | null): Promise<JobStatusResponse> {
  const live = hasLiveOutput(job);
  const active = job.status === "Queued" || job.status === "Running";
  let download: { url: string; expiresAt: number } | null = null;
  if (live && origin) download = await signedOutputUrl(env, job, origin);
  return {
    id: job.id,
    status: job.status,
    progress: { percent: job.status === "Succeeded" ? 100 : 0, phase: active ? job.phase : null },
    metrics: {
      inputBytes: active ? 0 : job.inputBytes,
      outputBytes: active ? 0 : (job.outputBytes ?? 0),
      creditCost: job.creditCost,
      inputPages: job.inputPages,
      outputPages: job.outputPages,
    },
    error:
      job.status === "Failed"
        ? { code: job.errorCode ?? "upstream_error", detail: job.errorDetail ?? "the conversion failed" }
        : null,
    output: live
      ? { fileName: job.outputFileName!, contentType: job.outputContentType!, fileCount: job.outputFileCount ?? 1 }
      : null,
    download_url: download?.url ?? null,
    expires_at: download ? new Date(download.expiresAt).toISOString() : null,
    sourceFormat: job.sourceFormat,
    targetFormat: job.targetFormat,
    createdAt: new Date(job.createdAt).toISOString(),
    finishedAt: job.finishedAt ? new Date(job.finishedAt).toISOString() : null,
  };
}

export function downloadTtlMs(env: Env): number {
  return (Number(env.DOWNLOAD_URL_TTL_SECONDS) || 3600) * 1000;
}

export async function signedOutputUrl(
  env: Env,
  job: Pick<JobRow, "outputKey" | "outputFileName" | "outputContentType" | "outputExpiresAt">,
  origin: string,
): Promise<{ url: string; expiresAt: number }> {
  // A link never outlives the artifact it points at.
  const expiresAt = Math.min(Date.now() + downloadTtlMs(env), job.outputExpiresAt ?? Number.MAX_SAFE_INTEGER);
  const url = await signDownloadUrl(origin, env.DOWNLOAD_SIGNING_KEY, {
    key: job.outputKey!,
    fileName: job.outputFileName!,
    contentType: job.outputContentType!,
    expiresAt,
  });
  return { url, expiresAt };
}

/** What a signed download link grants (a job's or a rendition's output), served like a job's download. */
export async function serveSignedDownload(svc: Services, token: string, request: Request): Promise<Response> {
  const grant = await verifyDownloadToken(svc.env.DOWNLOAD_SIGNING_KEY, token);
  const response = await serveObject(svc.env.BUCKET, grant.key, request, grant.fileName, grant.contentType);
  if (!response) throw new ApiError("download.not_found", "the file behind this link no longer exists");
  return response;
}
