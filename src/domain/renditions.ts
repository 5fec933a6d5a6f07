// Renditions: conversions of a file or a run cached for good under (source, format, effective options: an image
// of a multi-page document is its first page unless `pages` says otherwise, seed 000's default). A hit is one
// D1 read and a signature. A miss admits a job of kind "rendition" through the same pipeline as every job —
// debit, job and cache row in one batch, so two identical misses cannot both convert (the loser's batch
// collides on the cache key, rolls back uncharged, and joins the winner's job) — then waits for that job on
// its JobWaiter Durable Object.
import type { Caller } from "../auth/scope";
import type { ConvertOptions } from "../converter/client";
import type { FileRow } from "../db/files";
import { admissionFailure } from "../db/jobs";
import { claimRenditionStatements, findRendition, findRenditionJob, type RenditionJob } from "../db/renditions";
import type { JobStatus } from "../db/schema";
import { primarySession, readSession } from "../db/sessions";
import { sha256Hex } from "../digests";
import { ApiError, type ErrorCode, statusOf } from "../errors";
import { planOf } from "./accounts";
import {
  assertInputStored,
  canonicalOptions,
  effectiveOptions,
  jobSpecFor,
  normalizeFormat,
  planConversion,
} from "./conversions";
import { visibleFile } from "./files";
import { waitForJobEnd } from "./job-waiter";
import { admitJobs, signedOutputUrl } from "./jobs";
import type { PlanId } from "./plans";
import { runOutputFile } from "./runs";
import { openServices, type Services } from "./services";

// The caller's D1 bookmark comes and goes in this header: read-your-writes across requests.
export const BOOKMARK_HEADER = "x-d1-bookmark";

export interface RenditionSource {
  kind: "file" | "run";
  id: string;
}

/** The cache key: SHA-256 of (source kind, source id, format, canonical options). */
export async function renditionKey(source: RenditionSource, format: string, options: ConvertOptions): Promise<string> {
  const text = JSON.stringify([source.kind, source.id, normalizeFormat(format), canonicalOptions(options)]);
  return sha256Hex(text);
}

/** Servable: succeeded and its output still stored (a rendition's output never expires; checked anyway). */
export function isServable(r: RenditionJob, now = Date.now()): boolean {
  return r.status === "Succeeded" && r.outputKey !== null && (r.outputExpiresAt === null || r.outputExpiresAt > now);
}

const isActive = (status: JobStatus) => status === "Queued" || status === "Running";

/** Default and upper bound of how long a request waits for its conversion (RENDITION_WAIT_SECONDS). */
export function maxWaitMs(env: Env): number {
  const seconds = Number(env.RENDITION_WAIT_SECONDS);
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : 60) * 1000;
}

/** The caller's `wait` (seconds) within the limit; absent means the limit. */
export function waitMsFor(env: Env, waitSeconds: number | undefined): number {
  const max = maxWaitMs(env);
  return waitSeconds === undefined ? max : Math.min(max, Math.max(0, waitSeconds * 1000));
}

export interface RenditionRequest {
  /** The request's services: its origin is where the download link points. */
  svc: Services;
  caller: Caller;
  source: RenditionSource;
  format: string;
  options: ConvertOptions;
  waitMs: number;
  /** The caller's D1 bookmark, for read-your-writes. */
  bookmark: string | null | undefined;
}

export type ReadyRendition = {
  state: "ready";
  rendition: RenditionJob;
  downloadUrl: string;
  expiresAt: number;
  cached: boolean;
  bookmark: string | null;
};
export type RenditionOutcome =
  | ReadyRendition
  | { state: "pending"; jobId: string; status: JobStatus; bookmark: string | null };

/** On a miss: the file to convert, as this caller may see it (not found otherwise); a run's output is registered. */
function sourceFile(svc: Services, caller: Caller, source: RenditionSource): Promise<FileRow> {
  return source.kind === "run" ? runOutputFile(svc, caller, source.id) : visibleFile(svc, caller, source.id);
}

/** Serves the rendition from the cache, or converts it (once, however many ask at the same time). */
export async function renditionFor(req: RenditionRequest): Promise<RenditionOutcome> {
  const format = normalizeFormat(req.format);
  const options = canonicalOptions(effectiveOptions(format, req.options, "first-page"));
  const cacheKey = await renditionKey(req.source, format, options);

  const env = req.svc.env;
  const reads = readSession(env.DB, req.bookmark);
  const cached = await findRendition(reads, cacheKey, req.caller.accountId);
  if (cached && isServable(cached)) return ready(req, cached, true, reads.getBookmark());

  // A miss: from here on everything goes to the primary, which the admission batch writes anyway.
  const writes = primarySession(env.DB);
  const svc = openServices(env, { d1: writes, origin: req.svc.origin });
  const [file, planId] = await Promise.all([
    sourceFile(svc, req.caller, req.source),
    planOf(svc, req.caller.accountId),
  ]);
  await assertInputStored(svc, file);
  const jobId = await admitOrJoin(svc, req, file, planId, format, options, cacheKey, cached);

  await waitForJobEnd(env, jobId, req.waitMs);
  const job = await findRenditionJob(writes, jobId);
  if (!job) throw new Error(`rendition job ${jobId} vanished`);
  if (isServable(job)) return ready(req, job, false, writes.getBookmark());
  if (!isActive(job.status)) throw renditionFailure(job);
  return { state: "pending", jobId, status: job.status, bookmark: writes.getBookmark() };
}

async function ready(
  req: RenditionRequest,
  rendition: RenditionJob,
  cached: boolean,
  bookmark: string | null,
): Promise<ReadyRendition> {
  const { url, expiresAt } = await signedOutputUrl(req.svc.env, rendition, req.svc.origin!);
  return { state: "ready", rendition, downloadUrl: url, expiresAt, cached, bookmark };
}

// Collisions needing another round are rare (two misses, or a replacement racing a replacement); three
// rounds cover a loser finding the winner's row and a winner whose row changed again meanwhile.
const MAX_ADMISSION_ROUNDS = 3;

/** The id of the job that produces this rendition: an active one joined, or a new one admitted and charged. */
async function admitOrJoin(
  svc: Services,
  req: RenditionRequest,
  file: FileRow,
  planId: PlanId,
  format: string,
  options: ConvertOptions,
  cacheKey: string,
  seen: RenditionJob | null,
): Promise<string> {
  // The pair, the options and the limits are checked before anything is written or charged.
  const { quote, target } = planConversion(svc.env, file, format, options);
  let current = seen;
  for (let round = 0; round < MAX_ADMISSION_ROUNDS; round++) {
    if (current && (isActive(current.status) || isServable(current))) return current.jobId;
    // No row, or one whose job failed, was canceled or lost its output: convert again. A replacement only
    // takes the row while it still points at that job.
    const replacing = current?.jobId ?? null;
    try {
      const [job] = await admitJobs(
        svc,
        planId,
        [
          jobSpecFor(file, target, options, quote, {
            accountId: req.caller.accountId,
            apiKeyId: req.caller.apiKeyId,
            kind: "rendition",
          }),
        ],
        ([row]) =>
          claimRenditionStatements(
            svc.d1,
            {
              cacheKey,
              accountId: req.caller.accountId,
              sourceKind: req.source.kind,
              sourceId: req.source.id,
              format: target,
              jobId: row!.id,
              createdAt: row!.createdAt,
            },
            replacing,
          ),
      );
      return job!.id;
    } catch (err) {
      if (admissionFailure(err) !== "rendition") throw err;
      // Another request claimed the key first: its job is the one to wait for.
      current = await findRendition(svc.d1, cacheKey, req.caller.accountId);
    }
  }
  throw new Error(`rendition ${cacheKey}: admission kept colliding`);
}

/**
 * The error for a rendition whose job ended without output. The document's own faults (password-protected,
 * corrupt: 4xx codes from the converter) keep their code and status, since retrying fails the same way;
 * so does an input gone before it was converted (410 `runs.output_expired`, final too);
 * anything else is the converter's or the platform's: 502 `convert.failed`, and a retry converts again.
 * Either way the job's credits were refunded before this is seen.
 */
export function renditionFailure(job: RenditionJob): ApiError {
  const context = { job_id: job.jobId, status: job.status };
  if (job.status === "Canceled") {
    return new ApiError(
      "convert.failed",
      "the conversion was canceled before it finished; the credits were refunded and calling again converts again",
      context,
    );
  }
  const code = job.errorCode ?? "upstream_error";
  const detail = job.errorDetail ?? "the conversion failed";
  const status = statusOf(code as ErrorCode) as number | undefined;
  if (status !== undefined && status >= 400 && status < 500) return new ApiError(code as ErrorCode, detail, context);
  return new ApiError(
    "convert.failed",
    `the conversion failed: ${detail}; the credits were refunded and a retry converts again`,
    { ...context, cause: code },
  );
}

/**
 * Seed 000's timestamp: `2026-04-20T12:00:00+00:00`, to the second, with a numeric offset (what Python's
 * datetime.fromisoformat reads on every version; a trailing `Z` needs 3.11). Never later than the instant.
 */
export function seedTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

export const CACHE_HEADER = "x-rendition-cache";

export const statusUrl = (jobId: string) => `/v1/convert/job/${jobId}`;

/** Headers every rendition answer carries: the D1 bookmark, hit or miss, and where a pending job is. */
export function renditionHeaders(outcome: RenditionOutcome): Record<string, string> {
  const headers: Record<string, string> = {};
  if (outcome.bookmark) headers[BOOKMARK_HEADER] = outcome.bookmark;
  if (outcome.state === "ready") headers[CACHE_HEADER] = outcome.cached ? "hit" : "miss";
  else headers.Location = statusUrl(outcome.jobId);
  return headers;
}

/**
 * The answer when a caller that did not choose its wait (seed 000's blocking call) outlasts it: an error in
 * that document's vocabulary whose retry is safe and free — the same request joins the same job, or is served
 * from the cache once it ended. Carries the job, for callers that know the job API, and Retry-After.
 */
export function stillRunning(
  outcome: Extract<RenditionOutcome, { state: "pending" }>,
  headers: Record<string, string>,
): ApiError {
  return new ApiError(
    "convert.still_running",
    "the conversion is still running; call again: the same request joins this conversion (not charged again) and is answered from the cache once it finished",
    pendingBody(outcome),
    // No Location: this is an error answer, not a 202 pointing at the job.
    { ...withoutLocation(headers), "Retry-After": String(STILL_RUNNING_RETRY_AFTER_SECONDS) },
  );
}
const STILL_RUNNING_RETRY_AFTER_SECONDS = 5;
const withoutLocation = ({ Location: _, ...rest }: Record<string, string>) => rest;

/** The 202 body when the wait ran out: the job goes on, and its status URL tells when it is done. */
export function pendingBody(outcome: Extract<RenditionOutcome, { state: "pending" }>) {
  return {
    job_id: outcome.jobId,
    status: outcome.status as "Queued" | "Running",
    status_url: statusUrl(outcome.jobId),
  };
}
