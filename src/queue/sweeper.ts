// The cron sweeper: jobs Running past their deadline go back to the queue (or fail once they have used their
// attempts), queued jobs whose message was lost are sent again, and expired outputs are deleted.
import { openDb } from "../db/client";
import { clearOutput, expiredOutputs, requeueJob, staleQueuedJobs, staleRunningJobs } from "../db/jobs";
import { enqueueJobs, failJob } from "../domain/jobs";
import { MAX_CONVERSION_ATTEMPTS } from "./consumer";

// A job Queued this long has had time to be delivered (retry delays included); send its message again.
// A duplicate message is harmless: only one delivery can claim the job.
export const QUEUED_RESEND_AFTER_MS = 15 * 60 * 1000;

export async function sweep(env: Env, now = Date.now()): Promise<{ requeued: number; failed: number; expired: number; resent: number }> {
  const db = openDb(env.DB);
  const svc = { env, db, d1: env.DB };
  let requeued = 0;
  let failed = 0;
  for (const job of await staleRunningJobs(db, now)) {
    if (job.attempts >= MAX_CONVERSION_ATTEMPTS) {
      if (await failJob(svc, job, "upstream_error", `the conversion did not finish in ${job.attempts} attempts`)) failed++;
    } else if (await requeueJob(env.DB, job.id)) {
      await enqueueJobs(env, [job.id]);
      requeued++;
    }
  }
  const lost = await staleQueuedJobs(db, now - QUEUED_RESEND_AFTER_MS);
  await enqueueJobs(env, lost.map((j) => j.id));
  let expired = 0;
  for (const job of await expiredOutputs(db, now)) {
    if (job.outputKey) await env.BUCKET.delete(job.outputKey);
    await clearOutput(env.DB, job.id);
    expired++;
  }
  return { requeued, failed, expired, resent: lost.length };
}
