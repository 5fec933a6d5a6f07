// The conversion consumer: one message, one job. Claiming is a conditional update, so a redelivered
// message finds the job already taken or finished and does nothing: no second conversion, no second charge.
//
// A job that must run again later is never handed back with `message.retry()`: the platform counts every
// retry against the queue's max_retries and then parks the message in the dead-letter queue. The job goes
// back to Queued, a fresh message with `delaySeconds` is sent, and this one is acknowledged.

import {
  ConversionAbandoned,
  ConverterError,
  type ConvertOptions,
  type ConvertResult,
  converterFor,
} from "../converter/client";
import { findFile } from "../db/files";
import { claimJob, completeJob, type JobRow, jobStatusOf, requeueJob, setPhase } from "../db/jobs";
import { runIdOfOutputFile } from "../db/renditions";
import { runOutputExpired } from "../domain/conversions";
import { jobEnded } from "../domain/job-events";
import { enqueueJobs, failJob, outputFileName } from "../domain/jobs";
import type { Services } from "../domain/services";
import { newEventId, webhookOutbox } from "../domain/webhooks";
import { outputKey, putStream } from "../storage/r2";
import type { JobMessage } from "./messages";

// Attempts a job gets against converter faults (crash, hang, 5xx) before it fails for good.
export const MAX_CONVERSION_ATTEMPTS = 3;
// The converter's own timeout for one conversion, in seconds (CONVERSION_TIMEOUT_SECONDS overrides).
export const CONVERSION_TIMEOUT_SECONDS = 120;
// The longest a request waits in the converter's own queue before it answers 503 convert.busy.
export const CONVERTER_QUEUE_WAIT_SECONDS = 20;
// How long a job may wait for a converter to take it (CONVERTER_WAIT_BUDGET_SECONDS overrides).
export const WAIT_BUDGET_SECONDS = 600;
// The wait before trying again when the converter gave no Retry-After (CONVERTER_BACKPRESSURE_DELAY_SECONDS).
export const BACKPRESSURE_DELAY_SECONDS = 10;
const MAX_BACKPRESSURE_DELAY_SECONDS = 300;
// How often the job's row is read while the converter has its document, to stop a canceled job's conversion.
export const CANCEL_POLL_MS = 2000;

export type Outcome = { kind: "done" } | { kind: "retry"; delaySeconds: number };

export async function handleJobMessage(svc: Services, message: Message<JobMessage>): Promise<void> {
  const outcome = await processJob(svc, message.body.jobId);
  if (outcome.kind === "retry") {
    try {
      // processJob put the job back to Queued and recorded this send (enqueued_at).
      await enqueueJobs(svc.env, [message.body.jobId], outcome.delaySeconds);
    } catch (err) {
      // Without a fresh message the platform's retry must do (the dead-letter consumer catches the rest).
      console.error("re-sending a job failed; retrying its message", message.body.jobId, err);
      message.retry({ delaySeconds: outcome.delaySeconds });
      return;
    }
  }
  message.ack();
}

/** The whole exchange's limit: the converter's queue wait plus its conversion timeout, with room to spare. */
export function converterRequestTimeoutMs(env: Env): number {
  const configured = Number(env.CONVERTER_REQUEST_TIMEOUT_SECONDS);
  if (configured > 0) return configured * 1000;
  return (CONVERTER_QUEUE_WAIT_SECONDS + conversionTimeoutSeconds(env) + 40) * 1000;
}

function conversionTimeoutSeconds(env: Env): number {
  return Number(env.CONVERSION_TIMEOUT_SECONDS) || CONVERSION_TIMEOUT_SECONDS;
}

export function waitBudgetMs(env: Env): number {
  const seconds = Number(env.CONVERTER_WAIT_BUDGET_SECONDS);
  return (seconds > 0 ? seconds : WAIT_BUDGET_SECONDS) * 1000;
}

export function backpressureDelaySeconds(env: Env, retryAfter: number | null = null): number {
  const fallback = Number(env.CONVERTER_BACKPRESSURE_DELAY_SECONDS);
  const seconds = retryAfter ?? (fallback > 0 ? fallback : BACKPRESSURE_DELAY_SECONDS);
  return Math.min(MAX_BACKPRESSURE_DELAY_SECONDS, Math.max(1, seconds));
}

/** Fails a job that waited out its budget for a converter; the detail says what it was waiting on. */
export function failUnavailable(
  svc: Services,
  job: Pick<JobRow, "id" | "accountId" | "creditCost">,
  waitedMs: number,
  cause: string,
  attempt?: number,
): Promise<boolean> {
  return failJob(
    svc,
    job,
    "convert.unavailable",
    `no converter took the job in ${Math.round(waitedMs / 1000)} s (last: ${cause}); the credits were refunded`,
    attempt,
  );
}

export async function processJob(svc: Services, jobId: string): Promise<Outcome> {
  const now = Date.now();
  // Finished, canceled, or being converted elsewhere: nothing to do. The deadline outlasts the request.
  const job = await claimJob(svc.db, jobId, now, now + converterRequestTimeoutMs(svc.env) + 120_000);
  if (!job) return { kind: "done" };
  try {
    await convertAndStore(svc, job);
    return { kind: "done" };
  } catch (err) {
    return handleFailure(svc, job, err);
  }
}

async function convertAndStore(svc: Services, job: JobRow): Promise<void> {
  const { env } = svc;
  const file = await findFile(svc.db, job.fileId);
  const input = file ? await env.BUCKET.get(file.storageKey) : null;
  if (!file || !input) {
    // A run's output registered as a file expired after admission: final, like the 410 at admission.
    if (file?.purpose === "run-output")
      throw new PermanentFailure("runs.output_expired", runOutputExpired(runIdOfOutputFile(file.id)).message);
    throw new PermanentFailure("upstream_error", "the input file is no longer stored");
  }

  const abandon = new AbortController();
  const stopWatching = abortWhenEnded(svc, job.id, abandon);
  let result: ConvertResult;
  try {
    result = await converterFor(env).convert({
      body: input.body,
      length: input.size,
      from: job.sourceFormat,
      to: job.targetFormat,
      filename: file.filename,
      options: JSON.parse(job.options) as ConvertOptions,
      timeoutSeconds: conversionTimeoutSeconds(env),
      requestTimeoutMs: converterRequestTimeoutMs(env),
      signal: abandon.signal,
    });
  } finally {
    // The converter has answered: its work is over, whatever becomes of the job now (completeJob decides).
    stopWatching();
  }

  const fileName = outputFileName(
    file.filename,
    job.sourceFormat,
    job.targetFormat,
    result.extension,
    result.fileCount,
  );
  // The key and every write below name this claim (job.attempts): a claim taken over after its deadline
  // writes beside the winner's output, cannot complete the job, and removes only its own object.
  const key = outputKey(job.accountId, job.id, job.attempts, fileName);
  try {
    // The phase is for callers polling; it need not hold up the write.
    await Promise.all([
      setPhase(env.DB, job.id, job.attempts, "storing"),
      putStream(env.BUCKET, key, result.body, result.length, result.contentType),
    ]);
  } catch (err) {
    // Nothing half-written is served: the job never points at an object that failed to store.
    await env.BUCKET.delete(key).catch(() => undefined);
    throw new StorageFailure(`storing the output failed: ${(err as Error).message}`);
  }
  const retention = (Number(env.OUTPUT_RETENTION_SECONDS) || 86400) * 1000;
  const now = Date.now();
  const eventId = newEventId();
  const completed = await completeJob(
    env.DB,
    job.id,
    job.attempts,
    {
      outputKey: key,
      outputBytes: result.length,
      outputPages: result.outputPages,
      inputPages: result.inputPages,
      outputFileName: fileName,
      outputContentType: result.contentType,
      outputFileCount: result.fileCount,
      outputExpiresAt: job.kind === "rendition" ? null : now + retention,
    },
    now,
    webhookOutbox(env.DB, job.id, "Succeeded", eventId, now),
  );
  if (!completed) {
    // Canceled while converting, or taken over by a later claim: this claim's result is discarded.
    await env.BUCKET.delete(key);
    return;
  }
  await jobEnded(svc, job.id, eventId);
}

/**
 * Aborts the converter request once the job is no longer Running (canceled): the converter sees the
 * connection close and kills the LibreOffice process working on it, so a canceled job stops costing the pool
 * within a poll and a kill instead of running on to the conversion timeout.
 *
 * Polling the row rather than waiting on the job's JobWaiter: one D1 read every CANCEL_POLL_MS for the length
 * of a conversion, and no second object to reach — a call into the waiter cannot be withdrawn when the
 * conversion ends first (the Durable Object would hold it until its timeout), and it depends on the cancel's
 * notification arriving (its own backstop is a 5 s D1 poll anyway).
 *
 * The cancel frees the job's concurrency slot at once. The converter is free a few seconds later, so holding
 * the slot until then would buy nothing.
 */
function abortWhenEnded(svc: Services, jobId: string, abandon: AbortController): () => void {
  const timer = setInterval(() => {
    jobStatusOf(svc.env.DB, jobId).then(
      (status) => {
        if (status !== "Running") abandon.abort();
      },
      () => undefined, // a failed read: the next one decides
    );
  }, CANCEL_POLL_MS);
  return () => clearInterval(timer);
}

/** R2 refused the output: the platform's fault, not the converter's nor the document's; retried like a fault. */
class StorageFailure extends Error {}

class PermanentFailure extends Error {
  readonly code: string;
  constructor(code: string, detail: string) {
    super(detail);
    this.code = code;
  }
}

async function handleFailure(svc: Services, job: JobRow, err: unknown): Promise<Outcome> {
  // The job was canceled (and refunded) while converting: nothing to fail, retry or refund here.
  if (err instanceof ConversionAbandoned) return { kind: "done" };
  const now = Date.now();
  if (err instanceof ConverterError && err.overloaded) {
    // Back-pressure, not failure: the job waits its turn without using up an attempt, within its budget.
    const waited = now - (job.waitingSince ?? now);
    if (waited >= waitBudgetMs(svc.env)) {
      await failUnavailable(svc, job, waited, err.message, job.attempts);
      return { kind: "done" };
    }
    if (await requeueJob(svc.d1, job.id, job.attempts, now, { backPressure: true })) {
      return { kind: "retry", delaySeconds: backpressureDelaySeconds(svc.env, err.retryAfterSeconds) };
    }
    return { kind: "done" };
  }
  const retryable = (err instanceof ConverterError && err.retryable) || err instanceof StorageFailure;
  if (retryable && job.attempts < MAX_CONVERSION_ATTEMPTS) {
    if (await requeueJob(svc.d1, job.id, job.attempts, now)) {
      const backoff = (err instanceof ConverterError ? err.retryAfterSeconds : null) ?? Math.min(60, 2 ** job.attempts);
      return { kind: "retry", delaySeconds: backoff };
    }
    return { kind: "done" };
  }
  let code: string;
  let detail: string;
  if (err instanceof ConverterError) {
    // The document's own problems keep their specific code; converter faults that outlived the retries
    // are the upstream's.
    code = err.retryable ? "upstream_error" : err.code;
    detail = err.retryable ? `the converter failed ${job.attempts} times: ${err.message}` : err.message;
  } else if (err instanceof StorageFailure) {
    code = "upstream_error";
    detail = `${err.message} (${job.attempts} attempts)`;
  } else if (err instanceof PermanentFailure) {
    code = err.code;
    detail = err.message;
  } else {
    console.error("conversion failed unexpectedly", job.id, err);
    code = "upstream_error";
    detail = `the conversion failed: ${(err as Error)?.message ?? String(err)}`;
  }
  await failJob(svc, job, code, detail, job.attempts);
  return { kind: "done" };
}
