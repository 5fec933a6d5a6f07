// The consumer of docconv-jobs-dlq. Back-pressure and retries never use `message.retry()`, so a job message
// lands here only when its handler kept throwing (D1 unreachable, a bug) or a re-send failed. No job stays
// parked: a Queued job goes back to its queue after a delay, waiting like one under back-pressure, and fails
// with convert.unavailable (refunded) once its wait budget is spent. A Running job belongs to the sweeper
// (its deadline), an ended one needs nothing.
import { findJob, startWaiting } from "../db/jobs";
import { enqueueJobs } from "../domain/jobs";
import type { Services } from "../domain/services";
import { backpressureDelaySeconds, failUnavailable, waitBudgetMs } from "./consumer";
import type { QueueMessage } from "./messages";

export const JOBS_DEAD_LETTER_QUEUE = "docconv-jobs-dlq";

export type Revival = "requeued" | "failed" | "left";

export async function handleDeadLetter(svc: Services, message: Message<QueueMessage>): Promise<void> {
  const jobId = message.body?.type === "convert" ? message.body.jobId : null;
  console.warn("job message dead-lettered", jobId);
  // A malformed body cannot name a job; nothing to revive.
  if (typeof jobId === "string") console.warn("dead-lettered job", jobId, await reviveJob(svc, jobId));
  message.ack();
}

export async function reviveJob(svc: Services, jobId: string, now = Date.now()): Promise<Revival> {
  const { env } = svc;
  const job = await findJob(svc.db, jobId);
  if (job?.status !== "Queued") return "left";
  const since = await startWaiting(env.DB, jobId, now);
  if (since === null) return "left"; // claimed or ended meanwhile
  if (now - since >= waitBudgetMs(env)) {
    return (await failUnavailable(svc, job, now - since, "its queue message was dead-lettered")) ? "failed" : "left";
  }
  await enqueueJobs(env, [jobId], backpressureDelaySeconds(env));
  return "requeued";
}
