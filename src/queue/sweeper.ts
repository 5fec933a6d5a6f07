// The cron sweeper: jobs Running past their deadline go back to the queue (or fail once they have used their
// attempts), queued jobs and webhook deliveries whose message was lost are sent again, and expired outputs are
// deleted. Each scan reads an index of only the rows it can still act on, and acting on a row moves it out of
// that scan (a resend moves its time forward, a deleted output leaves the index), so a backlog of any size
// drains over successive sweeps and no row is picked for ever.
import { clearOutputs, expiredOutputs, requeueJob, staleQueuedJobs, staleRunningJobs } from "../db/jobs";
import { takeLostDeliveries } from "../db/webhooks";
import { enqueueJobs, failJob, resendJobs } from "../domain/jobs";
import type { Services } from "../domain/services";
import { sendDeliveryMessages } from "../domain/webhooks";
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
}

export async function sweep(
  svc: Services,
  now = Date.now(),
  limits: SweepLimits = DEFAULT_LIMITS,
): Promise<SweepReport> {
  const { env } = svc;
  const report: SweepReport = { requeued: 0, failed: 0, resent: 0, expired: 0, webhooksResent: 0 };

  for (const job of await staleRunningJobs(svc.db, now)) {
    if (job.attempts >= MAX_CONVERSION_ATTEMPTS) {
      if (await failJob(svc, job, "upstream_error", `the conversion did not finish in ${job.attempts} attempts`))
        report.failed++;
    } else if (await requeueJob(env.DB, job.id, now)) {
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
  return report;
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
