// A Durable Object per job id that holds requests open until the job ends: the rendition endpoints wait here
// instead of polling D1, and `jobEnded` (job-events.ts) wakes them the moment the job's final state is stored.
import { DurableObject } from "cloudflare:workers";
import { jobStatusOf } from "../db/jobs";
import type { JobStatus } from "../db/schema";

const ENDED = new Set<JobStatus>(["Succeeded", "Failed", "Canceled"]);
// Backstop only: a notification lost with a crashed consumer costs a waiter at most this much.
const BACKSTOP_POLL_MS = 5000;

export class JobWaiter extends DurableObject<Env> {
  private readonly waiters = new Set<(ended: boolean) => void>();
  private ended = false;
  private backstop: ReturnType<typeof setInterval> | null = null;

  /** Resolves true when the job has ended, false when `timeoutMs` passes first. */
  async waitForEnd(jobId: string, timeoutMs: number): Promise<boolean> {
    if (this.ended) return true;
    const ended = new Promise<boolean>((resolve) => {
      const release = (value: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(release);
        if (this.waiters.size === 0) this.stopBackstop();
        resolve(value);
      };
      const timer = setTimeout(() => release(false), Math.max(0, timeoutMs));
      this.waiters.add(release);
    });
    this.startBackstop(jobId);
    // The job may have ended before this waiter registered: look once the waiter is in place. D1 is written
    // before `jobEnded` notifies, so either this read sees the end or the notification comes after it.
    await this.checkEnded(jobId);
    return ended;
  }

  /** Called by `jobEnded` after the job's final state is in D1. */
  async notify(): Promise<void> {
    this.ended = true;
    for (const release of [...this.waiters]) release(true);
  }

  private async checkEnded(jobId: string): Promise<void> {
    const status = await jobStatusOf(this.env.DB, jobId);
    if (status && ENDED.has(status)) await this.notify();
  }

  private startBackstop(jobId: string) {
    if (this.backstop) return;
    this.backstop = setInterval(() => void this.checkEnded(jobId).catch(() => undefined), BACKSTOP_POLL_MS);
  }

  private stopBackstop() {
    if (this.backstop) clearInterval(this.backstop);
    this.backstop = null;
  }
}

function waiterFor(env: Env, jobId: string) {
  return (env.JOB_WAITER as DurableObjectNamespace<JobWaiter>).getByName(jobId);
}

/**
 * Waits up to `timeoutMs` for the job to end; true if it did. If the waiter cannot be reached the caller
 * answers with the job's state as it is (202 while active), never an error: the job goes on either way.
 */
export async function waitForJobEnd(env: Env, jobId: string, timeoutMs: number): Promise<boolean> {
  if (timeoutMs <= 0) return false;
  try {
    return await waiterFor(env, jobId).waitForEnd(jobId, timeoutMs);
  } catch (err) {
    console.error("waiting on the job failed", jobId, err);
    return false;
  }
}

/** Wakes whoever waits on the job. A failure here must not fail the job's own bookkeeping: waiters re-check D1. */
export async function notifyJobWaiters(env: Env, jobId: string): Promise<void> {
  try {
    await waiterFor(env, jobId).notify();
  } catch (err) {
    console.error("notifying job waiters failed", jobId, err);
  }
}
