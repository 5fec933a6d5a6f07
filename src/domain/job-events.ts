// What happens once a job has ended, whichever way: waiting requests wake, its webhook deliveries (written by
// the outbox in the same batch as the end) are queued.

import { notifyJobWaiters } from "./job-waiter";
import type { Services } from "./services";
import { queueEventDeliveries } from "./webhooks";

export async function jobEnded(svc: Services, jobId: string, eventId: string): Promise<void> {
  await notifyJobWaiters(svc.env, jobId);
  // Webhooks never hold up or fail the job: it has ended, and its deliveries are stored. Should queueing them
  // fail, the sweeper sends them.
  try {
    await queueEventDeliveries(svc, eventId);
  } catch (err) {
    console.error("queueing webhooks failed; the sweeper will send them", jobId, err);
  }
}
