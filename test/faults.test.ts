// Converter faults, storage faults, redelivery and the sweeper. Faults come from test/fake-converter.ts;
// the consumer is called with an env whose CONVERTER_URL points at the fault wanted.

import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { openServices } from "../src/domain/services";
import worker from "../src/index";
import { CANCEL_POLL_MS, MAX_CONVERSION_ATTEMPTS, type Outcome, processJob } from "../src/queue/consumer";
import { aroundBucket, balance, jobRow, parkedJob, seedAccount, type TestAccount, waitForJob } from "./harness";

const faultyEnv = (fault: string, extra: Partial<Env> = {}): Env => ({
  ...env,
  CONVERTER_URL: `http://127.0.0.1:${inject("fakeConverterPort")}/${fault}`,
  CONVERTER_REQUEST_TIMEOUT_SECONDS: "1" as Env["CONVERTER_REQUEST_TIMEOUT_SECONDS"],
  ...extra,
});

/** Runs the consumer as the queue would, redelivering after each retry, until the job is settled. */
async function consumeUntilSettled(e: Env, id: string) {
  const outcomes = [];
  for (let i = 0; i < MAX_CONVERSION_ATTEMPTS + 2; i++) {
    const outcome = await processJob(openServices(e), id);
    outcomes.push(outcome.kind);
    if (outcome.kind === "done") break;
  }
  return outcomes;
}

async function outputsOf(account: TestAccount, id: string) {
  return (await env.BUCKET.list({ prefix: `outputs/${account.accountId}/${id}/` })).objects.length;
}

describe("canceling a Running job", () => {
  it("aborts its converter request: the job stays Canceled, refunded once, nothing stored, failed or retried", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 4);
    const tag = `hang-${id}`;
    const hangs = async () =>
      (await fetch(`http://127.0.0.1:${inject("fakeConverterPort")}/__hangs/${tag}`)).json<{
        received: number;
        closed: number;
      }>();
    // A converter still working when the cancel comes, for longer than this test may last: only the abort
    // lets the consumer return.
    const consuming = processJob(
      openServices(
        faultyEnv(tag, {
          CONVERTER_REQUEST_TIMEOUT_SECONDS: "600" as Env["CONVERTER_REQUEST_TIMEOUT_SECONDS"],
        }),
      ),
      id,
    );
    await vi.waitUntil(async () => (await hangs()).received === 1, { timeout: 10_000, interval: 50 });
    expect(await jobRow(id)).toMatchObject({ status: "Running", attempts: 1 });

    const res = await account.json(`/v1/convert/job/${id}/cancel`, { method: "POST" });
    expect(res.body.status).toBe("Canceled");
    expect(await consuming).toEqual({ kind: "done" });
    // The converter saw its client go away (the real one then kills LibreOffice: container/test/robustness).
    await vi.waitUntil(async () => (await hangs()).closed === 1, { timeout: CANCEL_POLL_MS * 2, interval: 50 });
    expect(await jobRow(id)).toMatchObject({
      status: "Canceled",
      attempts: 1,
      error_code: null,
      output_key: null,
    });
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
    expect(await outputsOf(account, id)).toBe(0);
    expect((await account.json(`/v1/convert/job/${id}`)).body).toMatchObject({ status: "Canceled", error: null });
  });
});

describe("converter faults", () => {
  it.each(["crash", "fail", "hang"])(
    "retries a job a bounded number of times when the converter %ss, then fails it with upstream_error and refunds",
    async (fault) => {
      const account = await seedAccount({ credits: 10 });
      const id = await parkedJob(account, "Queued", 4);
      const hook = `http://127.0.0.1:${inject("webhookReceiverPort")}/faults-${fault}-${id}`;
      await env.DB.prepare("UPDATE jobs SET webhook_url = ?2 WHERE id = ?1").bind(id, hook).run();
      expect((await balance(account.accountId)).credits).toBe(6);
      const outcomes = await consumeUntilSettled(faultyEnv(fault), id);
      expect(outcomes).toEqual([...Array(MAX_CONVERSION_ATTEMPTS - 1).fill("retry"), "done"]);
      const row = await jobRow(id);
      expect(row).toMatchObject({
        status: "Failed",
        attempts: MAX_CONVERSION_ATTEMPTS,
        error_code: "upstream_error",
        output_key: null,
      });
      expect(row.error_detail).toContain(`${MAX_CONVERSION_ATTEMPTS} times`);
      expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
      const status = (await account.json(`/v1/convert/job/${id}`)).body;
      expect(status).toMatchObject({ status: "Failed", error: { code: "upstream_error" }, output: null });
      // The caller hears of it: a job.failed event is delivered to the job's webhook.
      const received = await vi.waitUntil(async () => {
        const got = await (
          await fetch(
            `http://127.0.0.1:${inject("webhookReceiverPort")}/__received?path=${encodeURIComponent(new URL(hook).pathname)}`,
          )
        ).json<any[]>();
        return got.length ? got : false;
      });
      expect(JSON.parse(received[0].body)).toMatchObject({
        type: "job.failed",
        data: { id, status: "Failed", error: { code: "upstream_error" } },
      });
    },
  );

  it("waits out a full converter (503 busy) without using up attempts, then converts", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    for (let i = 0; i < MAX_CONVERSION_ATTEMPTS + 2; i++) {
      expect(await processJob(openServices(faultyEnv("busy")), id)).toEqual({ kind: "retry", delaySeconds: 1 });
    }
    expect(await jobRow(id)).toMatchObject({ status: "Queued", attempts: 0 });
    expect(await processJob(openServices(env), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Succeeded", attempts: 1 });
    expect((await balance(account.accountId)).credits).toBe(9);
  });

  it("recovers when the converter comes back before the attempts run out", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    expect((await processJob(openServices(faultyEnv("crash")), id)).kind).toBe("retry");
    expect((await jobRow(id)).status).toBe("Queued");
    expect(await processJob(openServices(env), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Succeeded", attempts: 2 });
    expect((await balance(account.accountId)).credits).toBe(9);
  });

  it("never serves a half-written output when the converter's response breaks off", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 2);
    await consumeUntilSettled(faultyEnv("short"), id);
    expect(await jobRow(id)).toMatchObject({ status: "Failed", output_key: null });
    expect(await outputsOf(account, id)).toBe(0);
    expect((await balance(account.accountId)).credits).toBe(10);
  });

  it("fails the job, storing nothing, when R2 refuses the output", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 2, { targetFormat: "txt" });
    const brokenBucket = new Proxy(env.BUCKET, {
      get(target, prop) {
        if (prop === "put")
          return async (key: string) => {
            if (key.startsWith("outputs/")) throw new Error("R2 unavailable (injected)");
            return target.put(key, null);
          };
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    await consumeUntilSettled({ ...env, BUCKET: brokenBucket as R2Bucket }, id);
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: "Failed", error_code: "upstream_error", output_key: null });
    expect(row.error_detail).toContain("storing the output failed");
    expect(row.error_detail).not.toContain("converter");
    expect(await outputsOf(account, id)).toBe(0);
    expect((await balance(account.accountId)).credits).toBe(10);
  });
});

describe("redelivery", () => {
  it("does not convert a job another delivery is converting", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Running", 2);
    expect(await processJob(openServices(env), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Running", attempts: 1 });
    expect((await balance(account.accountId)).credits).toBe(8);
  });
});

describe("a claim taken over after its deadline", () => {
  const overdue = (id: string) =>
    env.DB.prepare("UPDATE jobs SET deadline_at = ?2 WHERE id = ?1")
      .bind(id, Date.now() - 1)
      .run();

  /** A second claim that converts, then waits at its output's put until `release()`. */
  function heldWinner() {
    let atPut!: () => void;
    let release!: () => void;
    const reachedPut = new Promise<void>((r) => (atPut = r));
    const gate = new Promise<void>((r) => (release = r));
    const winnerEnv = aroundBucket(env, "put", "outputs/", async (put) => {
      atPut();
      await gate;
      return put();
    });
    let outcome: Promise<Outcome> | undefined;
    return {
      /** Takes the job over (its deadline made past) and returns once the winner holds its output. */
      async takeOver(id: string) {
        await overdue(id);
        outcome = processJob(openServices(winnerEnv), id);
        await reachedPut;
      },
      async finish() {
        release();
        return outcome!;
      },
    };
  }

  async function expectWinnersOutputOnly(account: TestAccount, id: string) {
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: "Succeeded", attempts: 2 });
    const stored = (await env.BUCKET.list({ prefix: `outputs/${account.accountId}/${id}/` })).objects.map((o) => o.key);
    expect(stored).toEqual([row.output_key]);
    const download = await account.call(`/v1/convert/job/${id}/download`);
    expect(download.status).toBe(200);
    expect((await download.text()).length).toBeGreaterThan(0);
    // Charged once, never refunded.
    expect(await balance(account.accountId)).toEqual({ credits: 9, ledgerSum: 9 });
  }

  it("neither overwrites nor deletes the output of the claim that completed the job", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    // The first claim has converted; before it stores its output, a second claim converts and completes.
    const stale = aroundBucket(env, "put", "outputs/", async (put) => {
      await overdue(id);
      expect(await processJob(openServices(env), id)).toEqual({ kind: "done" });
      expect(await jobRow(id)).toMatchObject({ status: "Succeeded", attempts: 2 });
      return put();
    });
    expect(await processJob(openServices(stale), id)).toEqual({ kind: "done" });
    await expectWinnersOutputOnly(account, id);
  });

  it("cannot complete the job while the later claim is converting, and removes only its own output", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    const winner = heldWinner();
    // The first claim stores its output, then its deadline passes and a second claim takes the job over.
    const stale = aroundBucket(env, "put", "outputs/", async (put) => {
      const stored = await put();
      await winner.takeOver(id);
      return stored;
    });
    expect(await processJob(openServices(stale), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Running", attempts: 2, output_key: null });
    expect(await outputsOf(account, id)).toBe(0);
    expect(await winner.finish()).toEqual({ kind: "done" });
    await expectWinnersOutputOnly(account, id);
  });

  it("does not put the job back on the queue when its converter fails", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    const winner = heldWinner();
    // The first claim is taken over while it reads its input; then its converter fails (retryable).
    const stale = aroundBucket(faultyEnv("fail"), "get", "uploads/", async (get) => {
      await winner.takeOver(id);
      return get();
    });
    expect(await processJob(openServices(stale), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Running", attempts: 2 });
    expect(await winner.finish()).toEqual({ kind: "done" });
    await expectWinnersOutputOnly(account, id);
  });
});

describe("the cron sweeper", () => {
  async function runCron() {
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: new Date(), cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
  }

  it("puts a job Running past its deadline back on the queue, where it converts", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Running", 1, { deadlineAt: Date.now() - 1000, targetFormat: "txt" });
    await runCron();
    const job = await waitForJob(account, id);
    expect(job.status).toBe("Succeeded");
    expect((await jobRow(id)).attempts).toBe(2);
  });

  it("fails a job Running past its deadline that has used its attempts, and refunds it", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Running", 3, {
      deadlineAt: Date.now() - 1000,
      attempts: MAX_CONVERSION_ATTEMPTS,
    });
    await runCron();
    expect(await jobRow(id)).toMatchObject({ status: "Failed", error_code: "upstream_error" });
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  });

  it("leaves a Running job within its deadline alone", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Running", 1);
    await runCron();
    expect(await jobRow(id)).toMatchObject({ status: "Running", attempts: 1 });
  });
});
