// What happens when a job ends, whichever way: waiting requests wake, webhooks go out.
import type { Services } from "./jobs";
import { queueJobWebhooks } from "./webhooks";
import { notifyJobWaiters } from "./job-waiter";

export async function jobEnded(svc: Services, jobId: string): Promise<void> {
  await notifyJobWaiters(svc.env, jobId);
  // Webhooks never hold up or fail the job: it has ended, whatever happens to its events.
  try {
    await queueJobWebhooks(svc, jobId);
  } catch (err) {
    console.error("queueing webhooks failed", jobId, err);
  }
  void svc;
  void jobId;
}
