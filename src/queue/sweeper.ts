// The cron sweeper: jobs Running past their deadline go back to the queue (or fail once they have used their
// attempts), queued jobs and webhook deliveries whose message was lost are sent again, expired outputs are
// deleted, and so are uploads whose request died before writing their `files` row. Each scan reads an index of only the rows it can still act on, and acting on a row moves it out of
// that scan (a resend moves its time forward, a deleted output leaves the index), so a backlog of any size
// drains over successive sweeps and no row is picked for ever.

import { storedUploadKeys } from "../db/files";
import { clearOutputs, expiredOutputs, requeueJob, staleQueuedJobs, staleRunningJobs } from "../db/jobs";
import { takeLostDeliveries } from "../db/webhooks";
import { enqueueJobs, failJob, resendJobs } from "../domain/jobs";
import type { Services } from "../domain/services";
import { ORPHANED_UPLOAD_AFTER_MS } from "../domain/uploads";
import { sendDeliveryMessages } from "../domain/webhooks";
import { fileIdOfUploadKey, UPLOADS_PREFIX } from "../storage/r2";
import { MAX_CONVERSION_ATTEMPTS } from "./consumer";
import { LOST_MESSAGE_AFTER_MS } from "./messages";

export interface SweepLimits {
  /** Rows a scan reads at once. */
  pageSize: number;
  /** Pages a scan reads in one sweep: bounds one cron invocation's work (subrequests, CPU). */
  pages: number;
}

const DEFAULT_LIMITS: SweepLimits = { pageSize: 100, pages: 5 };

export interface SweepReport {
  requeued: number;
  failed: number;
  resent: number;
  expired: number;
  webhooksResent: number;
  orphanedUploads: number;
}

export async function sweep(
  svc: Services,
  now = Date.now(),
  limits: SweepLimits = DEFAULT_LIMITS,
): Promise<SweepReport> {
  const { env } = svc;
  const report: SweepReport = { requeued: 0, failed: 0, resent: 0, expired: 0, webhooksResent: 0, orphanedUploads: 0 };

  // Each change names the claim read here: a job claimed again meanwhile is left to its new claim.
  for (const job of await staleRunningJobs(svc.db, now)) {
    if (job.attempts >= MAX_CONVERSION_ATTEMPTS) {
      if (
        await failJob(
          svc,
          job,
          "upstream_error",
          `the conversion did not finish in ${job.attempts} attempts`,
          job.attempts,
        )
      )
        report.failed++;
    } else if (await requeueJob(svc.d1, job.id, job.attempts, now)) {
      await enqueueJobs(env, [job.id]);
      report.requeued++;
    }
  }

  report.resent = await drain(limits, async (limit) => {
    const ids = await staleQueuedJobs(env.DB, now - LOST_MESSAGE_AFTER_MS, limit);
    await resendJobs(svc, ids, 0, now);
    return ids.length;
  });

  report.expired = await drain(limits, async (limit) => {
    const rows = await expiredOutputs(env.DB, now, limit);
    if (rows.length === 0) return 0;
    // One call deletes up to 1000 objects; only then do the rows forget them.
    await env.BUCKET.delete(rows.map((r) => r.outputKey));
    await clearOutputs(
      env.DB,
      rows.map((r) => r.id),
    );
    return rows.length;
  });

  report.webhooksResent = await drain(limits, async (limit) => {
    const ids = await takeLostDeliveries(env.DB, now - LOST_MESSAGE_AFTER_MS, now, limit);
    await sendDeliveryMessages(env, ids);
    return ids.length;
  });

  report.orphanedUploads = await deleteOrphanedUploads(env, now, limits);
  return report;
}

// Where the last sweep stopped listing uploads/: R2 lists in key order, and each sweep goes on from there (and
// starts over once it reached the end), so every object is looked at however many there are.
export const ORPHAN_SCAN_POSITION_KEY = "sweeper/orphaned-uploads-after";

/**
 * An upload is stored before its request has read the rest of the body and written the `files` row; a request
 * that dies in between (isolate killed, client gone) leaves the object behind. Objects under uploads/ older than
 * ORPHANED_UPLOAD_AFTER_MS with no row are deleted, a page of the listing at a time: one D1 query a page (by
 * primary key), one delete call. Unfinished multipart uploads are not listed: the bucket's lifecycle rule
 * aborts them (README "Deploying").
 */
async function deleteOrphanedUploads(env: Env, now: number, limits: SweepLimits): Promise<number> {
  const position = await env.BUCKET.get(ORPHAN_SCAN_POSITION_KEY);
  let after: string | undefined = (await position?.text()) || undefined;
  let deleted = 0;
  for (let i = 0; i < limits.pages; i++) {
    // A page's ids go in one query: D1 binds at most 100 parameters.
    const page = await env.BUCKET.list({
      prefix: UPLOADS_PREFIX,
      limit: Math.min(limits.pageSize, 100),
      ...(after ? { startAfter: after } : {}),
    });
    const old = page.objects.filter((o) => o.uploaded.getTime() < now - ORPHANED_UPLOAD_AFTER_MS).map((o) => o.key);
    const kept = await storedUploadKeys(env.DB, old.map(fileIdOfUploadKey));
    const orphans = old.filter((key) => !kept.has(key));
    if (orphans.length > 0) await env.BUCKET.delete(orphans);
    deleted += orphans.length;
    after = page.truncated && page.objects.length > 0 ? page.objects.at(-1)!.key : undefined;
    if (!after) break;
  }
  if (after) await env.BUCKET.put(ORPHAN_SCAN_POSITION_KEY, after);
  else if (position) await env.BUCKET.delete(ORPHAN_SCAN_POSITION_KEY);
  return deleted;
}

/** Runs a scan page by page until a page comes back short or the sweep's page budget is spent. */
async function drain(limits: SweepLimits, page: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < limits.pages; i++) {
    const n = await page(limits.pageSize);
    total += n;
    if (n < limits.pageSize) break;
  }
  return total;
}
