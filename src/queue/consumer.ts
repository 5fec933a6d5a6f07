// The conversion consumer: one message, one job. Claiming is a conditional update, so a redelivered
// message finds the job already taken or finished and does nothing: no second conversion, no second charge.
import { eq } from "drizzle-orm";
import { openDb } from "../db/client";
import { claimJob, completeJob, requeueJob, setPhase, type JobRow } from "../db/jobs";
import { files } from "../db/schema";
import { converterFor, ConverterError, type ConvertOptions } from "../converter/client";
import { failJob, outputFileName, type Services } from "../domain/jobs";
import { jobEnded } from "../domain/job-events";
import { outputKey, putStream } from "../storage/r2";
import type { JobMessage } from "./messages";

// Attempts a job gets against converter faults (crash, hang, overload) before it fails for good.
export const MAX_CONVERSION_ATTEMPTS = 3;
// A Running job not finished by then is presumed lost with its consumer; the sweeper takes it back.
export const RUNNING_DEADLINE_MS = 5 * 60 * 1000;
// The converter's own timeout for one conversion, in seconds (CONVERSION_TIMEOUT_SECONDS overrides).
export const CONVERSION_TIMEOUT_SECONDS = 120;

export type Outcome = { kind: "done" } | { kind: "retry"; delaySeconds: number };

export async function handleJobMessage(env: Env, message: Message<JobMessage>): Promise<void> {
  const outcome = await processJob(env, message.body.jobId);
  if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
  else message.ack();
}

export async function processJob(env: Env, jobId: string): Promise<Outcome> {
  const svc: Services = { env, db: openDb(env.DB), d1: env.DB };
  const now = Date.now();
  // Finished, canceled, or being converted elsewhere: nothing to do.
  const job = await claimJob(svc.db, jobId, now, now + RUNNING_DEADLINE_MS);
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
  const file = await svc.db.query.files.findFirst({ where: eq(files.id, job.fileId) });
  const input = file ? await env.BUCKET.get(file.storageKey) : null;
  if (!file || !input) throw new PermanentFailure("upstream_error", "the input file is no longer stored");

  const conversionTimeout = Number(env.CONVERSION_TIMEOUT_SECONDS) || CONVERSION_TIMEOUT_SECONDS;
  const result = await converterFor(env).convert({
    body: input.body,
    length: input.size,
    from: job.sourceFormat,
    to: job.targetFormat,
    filename: file.filename,
    options: JSON.parse(job.options) as ConvertOptions,
    timeoutSeconds: conversionTimeout,
    requestTimeoutMs: (Number(env.CONVERTER_REQUEST_TIMEOUT_SECONDS) || conversionTimeout + 30) * 1000,
  });

  const fileName = outputFileName(file.filename, job.sourceFormat, job.targetFormat, result.extension, result.fileCount);
  const key = outputKey(job.accountId, job.id, fileName);
  try {
    // The phase is for callers polling; it need not hold up the write.
    await Promise.all([setPhase(env.DB, job.id, "storing", 90), putStream(env.BUCKET, key, result.body, result.length, result.contentType)]);
  } catch (err) {
    // Nothing half-written is served: the job never points at an object that failed to store.
    await env.BUCKET.delete(key).catch(() => undefined);
    throw new ConverterError("storage.write_failed", `storing the output failed: ${(err as Error).message}`, 500);
  }
  const retention = (Number(env.OUTPUT_RETENTION_SECONDS) || 86400) * 1000;
  const completed = await completeJob(
    env.DB,
    job.id,
    {
      outputKey: key,
      outputBytes: result.length,
      outputPages: result.outputPages,
      inputPages: result.inputPages,
      outputFileName: fileName,
      outputContentType: result.contentType,
      outputFileCount: result.fileCount,
      outputExpiresAt: job.kind === "rendition" ? null : Date.now() + retention,
    },
    Date.now(),
  );
  if (!completed) {
    // Canceled while converting: the result is discarded.
    await env.BUCKET.delete(key);
    return;
  }
  await jobEnded(svc, job.id);
}

class PermanentFailure extends Error {
  readonly code: string;
  constructor(code: string, detail: string) {
    super(detail);
    this.code = code;
  }
}

async function handleFailure(svc: Services, job: JobRow, err: unknown): Promise<Outcome> {
  if (err instanceof ConverterError && err.overloaded) {
    // Back-pressure, not failure: the job waits its turn without using up an attempt.
    await requeueJob(svc.d1, job.id, { returnAttempt: true });
    return { kind: "retry", delaySeconds: err.retryAfterSeconds ?? 5 };
  }
  if (err instanceof ConverterError && err.retryable && job.attempts < MAX_CONVERSION_ATTEMPTS) {
    if (await requeueJob(svc.d1, job.id)) {
      const backoff = err.retryAfterSeconds ?? Math.min(60, 2 ** job.attempts);
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
  } else if (err instanceof PermanentFailure) {
    code = err.code;
    detail = err.message;
  } else {
    console.error("conversion failed unexpectedly", job.id, err);
    code = "upstream_error";
    detail = `the conversion failed: ${(err as Error)?.message ?? String(err)}`;
  }
  await failJob(svc, job, code, detail);
  return { kind: "done" };
}
