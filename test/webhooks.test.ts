// Webhooks end to end: real jobs on the real converter, events POSTed to a real receiver on loopback
// (test/webhook-receiver.ts), retried on the short schedule of test/vitest.config.ts ("0,1,1": 4 attempts,
// 1 s timeout).
import { env, exports } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { randomToken } from "../src/ids";
import { fixture, seedAccount, submit, type TestAccount, waitForJob } from "./harness";
import type { Programmed, Received } from "./webhook-receiver";

const RECEIVER = `http://127.0.0.1:${inject("webhookReceiverPort")}`;

function hookPath(name: string): string {
  return `/hooks/${name}-${randomToken(10)}`;
}

async function program(path: string, responses: Programmed[]): Promise<void> {
  const res = await fetch(`${RECEIVER}/__program`, { method: "POST", body: JSON.stringify({ path, responses }) });
  expect(res.status).toBe(204);
}

async function received(path: string): Promise<Received[]> {
  return (await fetch(`${RECEIVER}/__received?path=${encodeURIComponent(path)}`)).json();
}

async function waitForReceived(path: string, count: number, timeout = 20_000): Promise<Received[]> {
  let got: Received[] = [];
  await vi.waitUntil(async () => (got = await received(path)).length >= count, { timeout, interval: 100 });
  return got;
}

async function deliveriesOf(account: TestAccount, jobId: string) {
  const res = await account.json(`/v1/webhooks/deliveries?jobId=${jobId}`);
  expect(res.status).toBe(200);
  return res.body.data as any[];
}

async function waitForDelivery(account: TestAccount, jobId: string, until: (d: any) => boolean, timeout = 20_000) {
  let found: any;
  await vi.waitUntil(
    async () => {
      found = (await deliveriesOf(account, jobId)).find(until);
      return found !== undefined;
    },
    { timeout, interval: 100 },
  );
  return found;
}

/** A quick real job: docx → txt. */
async function convertDocx(account: TestAccount, fields: Record<string, string> = {}) {
  const accepted = await submit(account, {
    file: { name: "letter.docx", bytes: fixture("docx-header-footer.docx") },
    targetFormat: "txt",
    ...fields,
  });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  return accepted.body.id as string;
}

async function register(account: TestAccount, url: string, events?: string[]) {
  const res = await account.json("/v1/webhooks", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url, events }),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret: string; url: string; events: string[]; disabledAt: string | null };
}

/** Verification as a receiver does it (README "Webhooks"), written independently of src/. */
async function verify(
  secret: string,
  signatureHeader: string,
  rawBody: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  const fields = new Map(
    signatureHeader
      .split(",")
      .map((part) => [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)] as const),
  );
  const t = Number(fields.get("t"));
  const v1 = fields.get("v1") ?? "";
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > 300) return false;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const mac = Uint8Array.from(v1.match(/../g) ?? [], (h) => parseInt(h, 16));
  return crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode(`${t}.${rawBody}`));
}

describe("registered endpoints", () => {
  it("shows the secret once, lists endpoints without it, and deletes them", async () => {
    const account = await seedAccount();
    const all = await register(account, `${RECEIVER}${hookPath("all")}`);
    expect(all.secret).toMatch(/^whsec_[0-9A-Za-z]{32}$/);
    expect(all.events).toEqual(["job.succeeded", "job.failed", "job.canceled"]);
    const failedOnly = await register(account, `${RECEIVER}${hookPath("failed")}`, ["job.failed"]);
    expect(failedOnly.events).toEqual(["job.failed"]);
    expect(failedOnly.secret).not.toBe(all.secret);

    const list = await account.json("/v1/webhooks");
    expect(list.status).toBe(200);
    expect(list.body.data.map((e: any) => e.id)).toEqual([all.id, failedOnly.id]);
    for (const e of list.body.data) {
      expect(e).not.toHaveProperty("secret");
      expect(JSON.stringify(e)).not.toContain("whsec_");
    }

    expect((await account.call(`/v1/webhooks/${all.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await account.json("/v1/webhooks")).body.data.map((e: any) => e.id)).toEqual([failedOnly.id]);
    const again = await account.json(`/v1/webhooks/${all.id}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(again.body.error).toBe("webhooks.not_found");
  });

  it("validates the body: unknown events are refused", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/webhooks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `${RECEIVER}/x`, events: ["job.exploded"] }),
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("request.invalid");
  });

  it("caps the endpoints of an account", async () => {
    const account = await seedAccount();
    for (let i = 0; i < 20; i++) await register(account, `https://hooks.example.com/${i}`);
    const res = await account.json("/v1/webhooks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: "https://hooks.example.com/21" }),
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "webhooks.limit_reached", maxEndpoints: 20 });
  });

  it("keeps endpoints, deliveries and secrets to their account: another account's are 404", async () => {
    const owner = await seedAccount();
    const other = await seedAccount();
    const path = hookPath("scoped");
    const endpoint = await register(owner, `${RECEIVER}${path}`);
    const jobId = await convertDocx(owner);
    const delivery = await waitForDelivery(owner, jobId, (d) => d.status === "delivered");

    expect((await other.json("/v1/webhooks")).body.data).toEqual([]);
    const del = await other.json(`/v1/webhooks/${endpoint.id}`, { method: "DELETE" });
    expect(del.status).toBe(404);
    expect(del.body.error).toBe("webhooks.not_found");
    const get = await other.json(`/v1/webhooks/deliveries/${delivery.id}`);
    expect(get.status).toBe(404);
    expect(get.body.error).toBe("deliveries.not_found");
    const redeliver = await other.json(`/v1/webhooks/deliveries/${delivery.id}/redeliver`, { method: "POST" });
    expect(redeliver.status).toBe(404);
    expect(redeliver.body.error).toBe("deliveries.not_found");
    expect(await deliveriesOf(other, jobId)).toEqual([]);
    const post = { method: "POST" };
    expect((await other.json("/v1/webhooks/signing-secret", post)).body.secret).not.toBe(
      (await owner.json("/v1/webhooks/signing-secret", post)).body.secret,
    );
    // Still the owner's, untouched.
    expect((await owner.json("/v1/webhooks")).body.data.map((e: any) => e.id)).toEqual([endpoint.id]);
    expect((await owner.json(`/v1/webhooks/deliveries/${delivery.id}`)).status).toBe(200);
  });
});

describe("delivery", () => {
  it("POSTs a signed job.succeeded event with a working download_url to the job's webhookUrl", async () => {
    const account = await seedAccount();
    const path = hookPath("signed");
    const jobId = await convertDocx(account, { webhookUrl: `${RECEIVER}${path}`, webhookMetadata: "order-42" });
    const [hit] = await waitForReceived(path, 1);
    // Never created by a POST: the first event made it, and a GET reads it.
    const { secret } = (await account.json("/v1/webhooks/signing-secret")).body;
    expect(secret).toMatch(/^whsec_/);

    expect(hit!.method).toBe("POST");
    expect(hit!.headers["content-type"]).toBe("application/json");
    expect(hit!.headers["user-agent"]).toBe("docconv-webhooks/1");
    const signature = hit!.headers["docconv-signature"]!;
    const timestamp = hit!.headers["docconv-timestamp"]!;
    expect(signature).toMatch(new RegExp(`^t=${timestamp},v1=[0-9a-f]{64}$`));
    expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(60);
    expect(await verify(secret, signature, hit!.body)).toBe(true);
    // The signature covers the exact bytes and the timestamp, and nothing verifies with another secret.
    expect(await verify(secret, signature, hit!.body.replace("order-42", "order-43"))).toBe(false);
    expect(await verify(secret, signature.replace(/t=\d+/, `t=${Number(timestamp) + 1}`), hit!.body)).toBe(false);
    expect(await verify("whsec_wrong", signature, hit!.body)).toBe(false);
    expect(await verify(secret, signature, hit!.body, Number(timestamp) + 301)).toBe(false); // stale

    const event = JSON.parse(hit!.body);
    expect(event).toMatchObject({ type: "job.succeeded", metadata: "order-42" });
    expect(event.id).toBe(hit!.headers["docconv-event-id"]);
    expect(event.id).toMatch(/^evt_/);
    expect(Date.parse(event.createdAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(event.data).toMatchObject({
      id: jobId,
      status: "Succeeded",
      error: null,
      output: { fileName: "letter.txt", fileCount: 1 },
    });
    expect(event.data.download_url).toMatch(/^http:\/\/docconv\.test\/v1\/downloads\//);
    const download = await exports.default.fetch(new Request(event.data.download_url));
    expect(download.status).toBe(200);
    expect((await download.text()).length).toBeGreaterThan(0);

    const [delivery] = await deliveriesOf(account, jobId);
    expect(delivery).toMatchObject({
      eventId: event.id,
      eventType: "job.succeeded",
      jobId,
      endpointId: null,
      url: `${RECEIVER}${path}`,
      status: "delivered",
      attemptCount: 1,
    });
    expect(hit!.headers["docconv-delivery-id"]).toBe(delivery.id);
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ attempt: 1, statusCode: 200, error: null });
    expect(delivery.attempts[0].latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("sends each registered endpoint the events it asked for, signed with its own secret", async () => {
    const account = await seedAccount();
    const failedPath = hookPath("only-failed");
    const succeededPath = hookPath("only-succeeded");
    const onFailed = await register(account, `${RECEIVER}${failedPath}`, ["job.failed"]);
    const onSucceeded = await register(account, `${RECEIVER}${succeededPath}`, ["job.succeeded", "job.canceled"]);

    const failing = await submit(account, {
      file: { name: "secret.odt", bytes: fixture("hostile-password-protected.odt") },
      targetFormat: "pdf",
    });
    expect(failing.status).toBe(202);
    expect((await waitForJob(account, failing.body.id)).status).toBe("Failed");
    const [failedHit] = await waitForReceived(failedPath, 1);
    const failedEvent = JSON.parse(failedHit!.body);
    expect(failedEvent).toMatchObject({
      type: "job.failed",
      metadata: null,
      data: {
        id: failing.body.id,
        status: "Failed",
        error: { code: "convert.password_protected" },
        download_url: null,
      },
    });
    expect(await verify(onFailed.secret, failedHit!.headers["docconv-signature"]!, failedHit!.body)).toBe(true);
    expect(await verify(onSucceeded.secret, failedHit!.headers["docconv-signature"]!, failedHit!.body)).toBe(false);

    const okJob = await convertDocx(account);
    const [okHit] = await waitForReceived(succeededPath, 1);
    expect(JSON.parse(okHit!.body)).toMatchObject({ type: "job.succeeded", data: { id: okJob } });
    expect(await verify(onSucceeded.secret, okHit!.headers["docconv-signature"]!, okHit!.body)).toBe(true);

    // Each endpoint got exactly its one event.
    expect(await received(failedPath)).toHaveLength(1);
    expect(await received(succeededPath)).toHaveLength(1);
    expect((await deliveriesOf(account, failing.body.id)).map((d) => d.endpointId)).toEqual([onFailed.id]);
    expect((await deliveriesOf(account, okJob)).map((d) => d.endpointId)).toEqual([onSucceeded.id]);
  });

  it("fans one event out to the job's webhookUrl and every endpoint, once per URL", async () => {
    const account = await seedAccount();
    const paths = Array.from({ length: 12 }, (_, i) => hookPath(`fan-${i}`));
    for (const path of paths) await register(account, `${RECEIVER}${path}`);
    await register(account, `${RECEIVER}${paths[0]}`); // the same URL twice: still one delivery
    const own = hookPath("fan-own");
    const jobId = await convertDocx(account, { webhookUrl: `${RECEIVER}${own}` });
    await waitForReceived(own, 1);
    for (const path of paths) await waitForReceived(path, 1);
    const deliveries = await deliveriesOf(account, jobId);
    expect(deliveries).toHaveLength(13);
    expect(new Set(deliveries.map((d) => d.eventId)).size).toBe(1);
    await vi.waitUntil(async () => (await deliveriesOf(account, jobId)).every((d) => d.status === "delivered"), {
      timeout: 10_000,
    });
    for (const path of [own, ...paths]) expect(await received(path), path).toHaveLength(1);
  });

  it("sends job.canceled when a job is canceled", async () => {
    const account = await seedAccount();
    const path = hookPath("canceled");
    const jobId = await convertDocx(account, { webhookUrl: `${RECEIVER}${path}` });
    const cancel = await account.json(`/v1/convert/job/${jobId}/cancel`, { method: "POST" });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    const [hit] = await waitForReceived(path, 1);
    expect(JSON.parse(hit!.body)).toMatchObject({
      type: "job.canceled",
      data: { id: jobId, status: "Canceled", output: null },
    });
  });

  it("retries a receiver that fails twice, and delivers on the third attempt with every attempt recorded", async () => {
    const account = await seedAccount();
    const path = hookPath("flaky");
    await program(path, [500, { status: 503, body: "busy, come back later" }, 200]);
    const jobId = await convertDocx(account, { webhookUrl: `${RECEIVER}${path}` });
    const delivery = await waitForDelivery(account, jobId, (d) => d.status === "delivered");
    const hits = await received(path);
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.headers["docconv-event-id"])).size).toBe(1);
    const { secret } = (await account.json("/v1/webhooks/signing-secret")).body;
    for (const h of hits) expect(await verify(secret, h.headers["docconv-signature"]!, h.body)).toBe(true);
    // The schedule's second delay (1 s) was honoured by the queue.
    expect(hits[2]!.at - hits[1]!.at).toBeGreaterThanOrEqual(900);

    expect(delivery.attemptCount).toBe(3);
    expect(delivery.attempts.map((a: any) => a.statusCode)).toEqual([500, 503, 200]);
    expect(delivery.attempts.map((a: any) => a.attempt)).toEqual([1, 2, 3]);
    expect(delivery.attempts[0].error).toMatch(/^HTTP 500/);
    expect(delivery.attempts[1].error).toBe("HTTP 503: busy, come back later");
    expect(delivery.attempts[2].error).toBeNull();
    expect(delivery.deliveredAt).not.toBeNull();
  });

  it("times out a receiver that never answers and retries it, without holding up the job", async () => {
    const account = await seedAccount();
    const path = hookPath("silent");
    await program(path, ["hang", 200]);
    const jobId = await convertDocx(account, { webhookUrl: `${RECEIVER}${path}` });
    expect((await waitForJob(account, jobId)).status).toBe("Succeeded");
    const delivery = await waitForDelivery(account, jobId, (d) => d.status === "delivered");
    expect(delivery.attempts).toHaveLength(2);
    expect(delivery.attempts[0]).toMatchObject({ attempt: 1, statusCode: null, error: "timed out after 1 s" });
    expect(delivery.attempts[0].latencyMs).toBeGreaterThanOrEqual(900);
    expect(delivery.attempts[1]).toMatchObject({ attempt: 2, statusCode: 200, error: null });
    expect(await received(path)).toHaveLength(2);
  });

  it("does not follow redirects: a 3xx is a failed attempt", async () => {
    const account = await seedAccount();
    const path = hookPath("moved");
    const elsewhere = hookPath("elsewhere");
    await program(path, [{ status: 302, location: `${RECEIVER}${elsewhere}` }, 200]);
    const jobId = await convertDocx(account, { webhookUrl: `${RECEIVER}${path}` });
    const delivery = await waitForDelivery(account, jobId, (d) => d.status === "delivered");
    expect(delivery.attempts[0]).toMatchObject({
      statusCode: 302,
      error: `redirect to ${RECEIVER}${elsewhere} not followed`,
    });
    expect(delivery.attempts[1]).toMatchObject({ statusCode: 200 });
    expect(await received(elsewhere)).toEqual([]);
  });

  it("gives up after the schedule's last attempt, and a redelivery starts a new sequence with the same event id", async () => {
    const account = await seedAccount();
    const path = hookPath("down");
    await program(path, [500, 500, 500, 500]);
    const jobId = await convertDocx(account, { webhookUrl: `${RECEIVER}${path}` });
    const failed = await waitForDelivery(account, jobId, (d) => d.status === "failed");
    expect(failed.attempts.map((a: any) => a.statusCode)).toEqual([500, 500, 500, 500]);
    expect(failed.nextAttemptAt).toBeNull();
    expect(failed.lastStatusCode).toBe(500);

    const redelivered = await account.json(`/v1/webhooks/deliveries/${failed.id}/redeliver`, { method: "POST" });
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ id: failed.id, status: "pending", eventId: failed.eventId });
    const delivered = await waitForDelivery(account, jobId, (d) => d.status === "delivered");
    expect(delivered.attempts.map((a: any) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 500],
      [5, 200],
    ]);
    const hits = await received(path);
    expect(hits).toHaveLength(5);
    expect(new Set(hits.map((h) => JSON.parse(h.body).id))).toEqual(new Set([failed.eventId]));

    // Redelivering a delivered one works too; one still being retried is refused.
    await env.DB.prepare("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?2 WHERE id = ?1")
      .bind(failed.id, Date.now())
      .run();
    const busy = await account.json(`/v1/webhooks/deliveries/${failed.id}/redeliver`, { method: "POST" });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toBe("deliveries.pending");
  });

  it("disables a registered endpoint that answers 410 Gone", async () => {
    const account = await seedAccount();
    const gonePath = hookPath("gone");
    const ownPath = hookPath("own");
    await program(gonePath, [410]);
    const endpoint = await register(account, `${RECEIVER}${gonePath}`);
    const first = await convertDocx(account);
    const failed = await waitForDelivery(account, first, (d) => d.status === "failed");
    expect(failed).toMatchObject({ endpointId: endpoint.id, attemptCount: 1, lastStatusCode: 410 });
    const listed = (await account.json("/v1/webhooks")).body.data[0];
    expect(listed.id).toBe(endpoint.id);
    expect(listed.disabledAt).not.toBeNull();

    // The next job's event goes to its own webhookUrl only; the disabled endpoint gets nothing more.
    const second = await convertDocx(account, { webhookUrl: `${RECEIVER}${ownPath}` });
    await waitForReceived(ownPath, 1);
    expect((await deliveriesOf(account, second)).map((d) => d.endpointId)).toEqual([null]);
    expect(await received(gonePath)).toHaveLength(1);
    const redeliver = await account.json(`/v1/webhooks/deliveries/${failed.id}/redeliver`, { method: "POST" });
    expect(redeliver.status).toBe(409);
    expect(redeliver.body.error).toBe("deliveries.endpoint_unavailable");
  });

  it("lists deliveries newest first with cursor pagination and a job filter", async () => {
    const account = await seedAccount();
    const path = hookPath("listed");
    const jobIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await convertDocx(account, { webhookUrl: `${RECEIVER}${path}` });
      await waitForDelivery(account, id, (d) => d.status === "delivered");
      jobIds.push(id);
    }
    const first = await account.json("/v1/webhooks/deliveries?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.data.map((d: any) => d.jobId)).toEqual([jobIds[2], jobIds[1]]);
    expect(first.body.has_more).toBe(true);
    const second = await account.json(
      `/v1/webhooks/deliveries?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`,
    );
    expect(second.body.data.map((d: any) => d.jobId)).toEqual([jobIds[0]]);
    expect(second.body).toMatchObject({ has_more: false, next_cursor: null });
    for (const d of [...first.body.data, ...second.body.data]) expect(d.attempts).toHaveLength(1);
    expect((await deliveriesOf(account, jobIds[1]!)).map((d) => d.jobId)).toEqual([jobIds[1]]);
    const bad = await account.json("/v1/webhooks/deliveries?cursor=nope");
    expect(bad.status).toBe(400);
  });

  it("creates the account's signing secret with a POST; a GET only reads it", async () => {
    const account = await seedAccount();
    const none = await account.json("/v1/webhooks/signing-secret");
    expect(none.status).toBe(404);
    expect(none.body).toMatchObject({ error: "webhooks.secret_not_found", type: "not_found" });
    // The GET made nothing: still 404.
    expect((await account.json("/v1/webhooks/signing-secret")).status).toBe(404);
    const created = await account.json("/v1/webhooks/signing-secret", { method: "POST" });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    // A second POST keeps it.
    const again = await account.json("/v1/webhooks/signing-secret", { method: "POST" });
    expect({ status: again.status, secret: again.body.secret }).toEqual({ status: 200, secret: created.body.secret });
    expect((await account.json("/v1/webhooks/signing-secret")).body.secret).toBe(created.body.secret);
  });

  it("rotates the account's signing secret", async () => {
    const account = await seedAccount();
    const before = (await account.json("/v1/webhooks/signing-secret", { method: "POST" })).body.secret;
    expect((await account.json("/v1/webhooks/signing-secret")).body.secret).toBe(before);
    const rotated = await account.json("/v1/webhooks/signing-secret/rotate", { method: "POST" });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(before);
    expect((await account.json("/v1/webhooks/signing-secret")).body.secret).toBe(rotated.body.secret);
  });
});
