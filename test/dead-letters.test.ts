// The dead-letter queue's consumer: nothing stays parked in docconv-jobs-dlq. Messages go through the test
// runtime's queue simulation (max_retries 3, then the dead-letter queue, as in wrangler.toml).

import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { JOBS_DEAD_LETTER_QUEUE } from "../src/queue/dead-letters";
import type { QueueMessage } from "../src/queue/messages";
import { balance, jobRow, parkedJob, seedAccount, waitForJob } from "./harness";

/** Hands the dead-letter consumer a batch, as the platform does for docconv-jobs-dlq. */
async function deadLetter(...jobIds: string[]) {
  const batch = createMessageBatch<QueueMessage>(
    JOBS_DEAD_LETTER_QUEUE,
    jobIds.map((jobId, i) => ({
      id: `dl-${i}-${jobId}`,
      timestamp: new Date(),
      attempts: 1,
      body: { type: "convert", jobId },
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue!(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("the dead-letter consumer", () => {
  it("receives what the jobs queue gives up on after max_retries", async () => {
    const warn = vi.spyOn(console, "warn");
    // A body no handler can work with: each delivery throws, the platform retries 3 times, then dead-letters.
    await env.JOBS_QUEUE.send({ type: "convert", jobId: { not: "an id" } });
    await vi.waitUntil(() => warn.mock.calls.some((c) => String(c[0]).includes("dead-lettered")), {
      timeout: 45_000,
      interval: 200,
    });
    warn.mockRestore();
  });

  it("puts a Queued job back in its queue, where it converts", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    const result = await deadLetter(id);
    expect(result.explicitAcks).toEqual([`dl-0-${id}`]);
    expect(result.retryMessages).toEqual([]);
    const job = await waitForJob(account, id);
    expect(job.status, JSON.stringify(job.error)).toBe("Succeeded");
    expect(await jobRow(id)).toMatchObject({ attempts: 1, waiting_since: null });
    expect((await balance(account.accountId)).credits).toBe(9);
  });

  it("fails a Queued job whose wait budget is spent with convert.unavailable, and refunds it", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 3);
    await env.DB.prepare("UPDATE jobs SET waiting_since = ?2 WHERE id = ?1")
      .bind(id, Date.now() - 11 * 60_000)
      .run();
    const result = await deadLetter(id);
    expect(result.explicitAcks).toHaveLength(1);
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: "Failed", error_code: "convert.unavailable" });
    expect(row.error_detail).toContain("dead-lettered");
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
    // Dead-lettered again: refunded once only.
    await deadLetter(id);
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  });

  it("leaves a job another delivery is converting, and an ended one, as they are", async () => {
    const account = await seedAccount({ credits: 10 });
    const running = await parkedJob(account, "Running", 1);
    const canceled = await parkedJob(account, "Queued", 1);
    expect((await account.json(`/v1/convert/job/${canceled}/cancel`, { method: "POST" })).status).toBe(200);
    const result = await deadLetter(running, canceled);
    expect(result.explicitAcks).toHaveLength(2);
    expect(await jobRow(running)).toMatchObject({ status: "Running", attempts: 1 });
    expect(await jobRow(canceled)).toMatchObject({ status: "Canceled" });
  });
});
