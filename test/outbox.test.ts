// The webhook outbox: a job's end and its deliveries are one D1 batch, and the sweeper sends deliveries whose
// queue message never went out. Events arrive at the real receiver (test/webhook-receiver.ts).
import { env } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { openDb } from "../src/db/client";
import { findJob } from "../src/db/jobs";
import { outboxStatements } from "../src/db/webhooks";
import { cancelJob, failJob } from "../src/domain/jobs";
import type { Services } from "../src/domain/services";
import { openServices } from "../src/domain/services";
import { randomToken } from "../src/ids";
import { processJob } from "../src/queue/consumer";
import { LOST_MESSAGE_AFTER_MS } from "../src/queue/messages";
import { sweep } from "../src/queue/sweeper";
import { attemptDelivery } from "../src/queue/webhooks";
import { form, parkedJob, seedAccount, type TestAccount, upload } from "./harness";
import type { Received } from "./webhook-receiver";

const RECEIVER = `http://127.0.0.1:${inject("webhookReceiverPort")}`;
const svc = (e: Env = env): Services => openServices(e);

async function received(path: string): Promise<Received[]> {
  return (await fetch(`${RECEIVER}/__received?path=${encodeURIComponent(path)}`)).json();
}

async function deliveryRows(jobId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, event_id, event_type, url, status, attempts FROM webhook_deliveries WHERE job_id = ?1 ORDER BY created_at, id",
  )
    .bind(jobId)
    .all<{ id: string; event_id: string; event_type: string; url: string; status: string; attempts: number }>();
  return results;
}

/** A Queued docx → txt job with its own webhookUrl on the receiver. */
async function jobWithHook(account: TestAccount, name: string) {
  const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
  const path = `/outbox/${name}-${randomToken(8)}`;
  await env.DB.prepare("UPDATE jobs SET webhook_url = ?2 WHERE id = ?1").bind(id, `${RECEIVER}${path}`).run();
  return { id, path };
}

const queueDown = {
  send: async () => Promise.reject(new Error("queue unavailable (injected)")),
  sendBatch: async () => Promise.reject(new Error("queue unavailable (injected)")),
} as unknown as Queue;

describe("the webhook outbox", () => {
  it("delivers the event once even when the queue send fails right after the job's end was written", async () => {
    const account = await seedAccount({ credits: 10 });
    const { id, path } = await jobWithHook(account, "lost-send");
    // The fault sits between the terminal batch and the queue send.
    expect(await processJob(openServices({ ...env, WEBHOOKS_QUEUE: queueDown }), id)).toEqual({ kind: "done" });
    expect((await findJob(openDb(env.DB), id))!.status).toBe("Succeeded");
    const [pending] = await deliveryRows(id);
    expect(pending).toMatchObject({ event_type: "job.succeeded", status: "pending", attempts: 0 });

    // The sweeper finds the delivery whose message never went out and sends it.
    const later = Date.now() + LOST_MESSAGE_AFTER_MS + 1000;
    expect((await sweep(openServices(env), later)).webhooksResent).toBe(1);
    await vi.waitUntil(async () => (await deliveryRows(id))[0]!.status === "delivered", {
      timeout: 20_000,
      interval: 100,
    });
    const hits = await received(path);
    expect(hits).toHaveLength(1);
    expect(JSON.parse(hits[0]!.body)).toMatchObject({
      id: pending!.event_id,
      type: "job.succeeded",
      data: { id, status: "Succeeded" },
    });
    expect(hits[0]!.headers["docconv-delivery-id"]).toBe(pending!.id);
    // Delivered: a later sweep leaves it alone.
    expect((await sweep(openServices(env), later + LOST_MESSAGE_AFTER_MS + 1000)).webhooksResent).toBe(0);
    expect(await received(path)).toHaveLength(1);
  });

  it("writes a job's deliveries only with the transition that ended it, and once", async () => {
    const account = await seedAccount({ credits: 10 });
    const { id } = await jobWithHook(account, "once");
    expect(await processJob(openServices(env), id)).toEqual({ kind: "done" });
    const job = (await findJob(openDb(env.DB), id))!;
    expect((await deliveryRows(id)).map((d) => d.event_type)).toEqual(["job.succeeded"]);
    // Transitions that cannot happen to a Succeeded job write no event.
    expect(await failJob(svc(), job, "upstream_error", "late")).toBe(false);
    expect(await cancelJob(svc(), job)).toBe(false);
    // Replaying the outbox for the same end under a new event id adds nothing either.
    await env.DB.batch(
      outboxStatements(env.DB, {
        jobId: id,
        status: "Succeeded",
        eventId: "evt_replayed",
        eventType: "job.succeeded",
        now: Date.now(),
      }),
    );
    // A status the job is not in writes nothing.
    await env.DB.batch(
      outboxStatements(env.DB, {
        jobId: id,
        status: "Failed",
        eventId: "evt_wrong",
        eventType: "job.failed",
        now: Date.now(),
      }),
    );
    expect(await deliveryRows(id)).toHaveLength(1);
  });

  it("fans one end out to the job's URL and the endpoints that want it, once per URL, in the same batch", async () => {
    const account = await seedAccount({ credits: 10 });
    const { id, path } = await jobWithHook(account, "fan-out");
    const register = (url: string, events: string[]) =>
      account.json("/v1/webhooks", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url, events }),
      });
    const other = `${RECEIVER}/outbox/endpoint-${randomToken(8)}`;
    expect((await register(other, ["job.failed"])).status).toBe(201);
    expect((await register(`${RECEIVER}${path}`, ["job.failed"])).status).toBe(201); // the job's own URL again
    expect((await register(`${RECEIVER}/outbox/never-${randomToken(8)}`, ["job.succeeded"])).status).toBe(201);
    const job = (await findJob(openDb(env.DB), id))!;
    expect(await failJob(svc({ ...env, WEBHOOKS_QUEUE: queueDown }), job, "convert.corrupt_input", "unreadable")).toBe(
      true,
    );
    const rows = await deliveryRows(id);
    expect(rows.map((r) => [r.event_type, r.url]).sort()).toEqual(
      [
        ["job.failed", `${RECEIVER}${path}`],
        ["job.failed", other],
      ].sort(),
    );
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(1);
  });
});

describe("download links in events", () => {
  it("point at the origin the job was submitted to when PUBLIC_BASE_URL is unset, and are absent rather than loopback without one", async () => {
    const account = await seedAccount({ credits: 10 });
    const noBase = { ...env, PUBLIC_BASE_URL: "" } as Env;
    const withOrigin = await jobWithHook(account, "origin");
    await env.DB.prepare("UPDATE jobs SET origin = 'https://api.example.test' WHERE id = ?1").bind(withOrigin.id).run();
    const without = await jobWithHook(account, "no-origin");
    for (const job of [withOrigin, without])
      expect(await processJob(openServices({ ...noBase, WEBHOOKS_QUEUE: queueDown }), job.id)).toEqual({
        kind: "done",
      });
    for (const job of [withOrigin, without]) {
      const [delivery] = await deliveryRows(job.id);
      expect(await attemptDelivery(openServices(noBase), delivery!.id, 1)).toEqual({ kind: "done" });
    }
    const [hit] = await received(withOrigin.path);
    expect(JSON.parse(hit!.body).data.download_url).toMatch(/^https:\/\/api\.example\.test\/v1\/downloads\//);
    const [bare] = await received(without.path);
    expect(JSON.parse(bare!.body).data).toMatchObject({ status: "Succeeded", download_url: null });
  });

  it("store the submitting request's origin on the job", async () => {
    const account = await seedAccount({ credits: 10 });
    const { exports } = await import("cloudflare:workers");
    const { file_id } = await upload(account, "docx-header-footer.docx");
    const request = new Request("https://api.example.test/v1/convert", {
      method: "POST",
      body: form({ fileId: file_id, targetFormat: "txt" }),
      headers: { "x-api-key": account.key },
    });
    const res = await exports.default.fetch(request);
    expect(res.status).toBe(202);
    const { id } = await res.json<{ id: string }>();
    expect((await findJob(openDb(env.DB), id))!.origin).toBe("https://api.example.test");
  });
});
