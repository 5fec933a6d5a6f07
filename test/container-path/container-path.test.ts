// The consumer through the Container transport: jobs submitted through the API, delivered by the queue
// simulation, sent through src/converter/container-transport.ts and @cloudflare/containers to the stand-in
// container (stand-in.ts) in front of the real converter. What the platform does is scripted per test.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { containerName } from "../../src/converter/container-transport";
import { openServices } from "../../src/domain/services";
import { processJob } from "../../src/queue/consumer";
import { balance, fixture, jobRow, parkedJob, seedAccount, submit, type TestAccount, waitForJob } from "../harness";
import type { ConverterStandIn, Script } from "./stand-in";

const namespace = env.CONVERTER as unknown as DurableObjectNamespace<ConverterStandIn>;
const container = () => namespace.get(namespace.idFromName(containerName(0)));

/** The platform as a test wants it, from a stopped container. */
async function platform(script: Script) {
  await container().stopContainer();
  await container().script(script);
  return container().stats();
}

async function convertTxt(account: TestAccount, name = "report.docx") {
  const accepted = await submit(account, {
    file: { name, bytes: fixture("docx-header-footer.docx") },
    targetFormat: "txt",
  });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  return accepted.body as { id: string; creditCost: number };
}

async function downloadText(account: TestAccount, id: string) {
  const res = await account.call(`/v1/convert/job/${id}/download`);
  expect(res.status).toBe(200);
  return res.text();
}

describe("the container transport", () => {
  beforeEach(async () => {
    await platform({});
  });

  it("starts a stopped container and converts through it", async () => {
    const before = await platform({ coldStartMs: 1200 });
    const account = await seedAccount({ credits: 10 });
    const job = await convertTxt(account);
    const done = await waitForJob(account, job.id);
    expect(done.status, JSON.stringify(done.error)).toBe("Succeeded");
    expect(await downloadText(account, job.id)).toContain("section with header");
    const after = await container().stats();
    expect(after.starts - before.starts).toBe(1);
    expect(after.running).toBe(true);
    // The library waited out the cold start itself: no back-pressure, one attempt.
    expect(await jobRow(job.id)).toMatchObject({ attempts: 1, waiting_since: null });
  });

  it("answers exactly what @cloudflare/containers answers when the platform cannot start an instance, or the connection drops", async () => {
    const request = () =>
      new Request("http://converter/convert?from=docx&to=txt&filename=a.docx", { method: "POST", body: "x" });
    const before = await platform({ start: ["no-instance", "rate-limited", "start-error"], requests: ["disconnect"] });
    const noInstance = await container().fetch(request());
    expect(noInstance.status).toBe(503);
    expect(noInstance.headers.get("content-type")).not.toContain("json");
    expect(await noInstance.text()).toMatch(/^There is no Container instance available at this time\./);
    const rateLimited = await container().fetch(request());
    expect(rateLimited.status).toBe(429);
    expect(await rateLimited.text()).toBe("you are requesting too many containers per second");
    const startError = await container().fetch(request());
    expect(startError.status).toBe(500);
    expect(await startError.text()).toBe("Failed to start container: container exited with unexpected exit code: 1");
    const during = await container().stats();
    expect(during.startAttempts - before.startAttempts).toBe(3);
    expect(during.starts).toBe(before.starts);
    expect(during.running).toBe(false);
    // Started now; the connection breaks while the container has the request.
    const disconnected = await container().fetch(request());
    expect(disconnected.status).toBe(500);
    expect(await disconnected.text()).toBe("Container suddenly disconnected, try again");
    expect((await container().stats()).starts).toBe(before.starts + 1);
  });

  it.each([
    ["no instance (503 text)", "no-instance"],
    ["rate limited (429 text)", "rate-limited"],
    ["a failed start (500 text)", "start-error"],
  ] as const)("treats %s as back-pressure: no attempt used, the job waits and then converts", async (_, step) => {
    await platform({ start: [step, step] });
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 2, { targetFormat: "txt" });
    for (let i = 0; i < 2; i++) {
      const outcome = await processJob(openServices(env), id);
      expect(outcome).toEqual({ kind: "retry", delaySeconds: 1 });
      expect(await jobRow(id)).toMatchObject({ status: "Queued", attempts: 0 });
    }
    const waiting = (await jobRow(id)).waiting_since;
    expect(waiting).toBeGreaterThan(0);
    expect(await processJob(openServices(env), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Succeeded", attempts: 1, waiting_since: null });
    expect((await balance(account.accountId)).credits).toBe(8);
  });

  it("treats a failing Durable Object hop as back-pressure", async () => {
    await platform({ requests: ["do-error"] });
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    expect(await processJob(openServices(env), id)).toEqual({ kind: "retry", delaySeconds: 1 });
    expect(await jobRow(id)).toMatchObject({ status: "Queued", attempts: 0 });
    expect(await processJob(openServices(env), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Succeeded", attempts: 1 });
  });

  it("counts a connection lost while the container had the document as a converter fault (an attempt)", async () => {
    await platform({ requests: ["disconnect"] });
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    const first = await processJob(openServices(env), id);
    expect(first.kind, JSON.stringify(await jobRow(id))).toBe("retry");
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: "Queued", attempts: 1, waiting_since: null });
    expect(await processJob(openServices(env), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Succeeded", attempts: 2 });
  });

  it("stops a canceled job's conversion: the request is aborted through the container and LibreOffice is freed", async () => {
    await platform({});
    const converter = async () =>
      ((await container().converterState()) as unknown as { converter: Record<string, any> }).converter;
    const account = await seedAccount({ credits: 10 });
    const accepted = await submit(account, {
      file: { name: "loop.ods", bytes: fixture("hostile-dos.ods") }, // LibreOffice never finishes loading it
      targetFormat: "pdf",
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const id = accepted.body.id as string;
    const before = await vi.waitUntil(
      async () => {
        const state = await converter().catch(() => null);
        return state?.instances?.busy === 1 ? state : false;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(await jobRow(id)).toMatchObject({ status: "Running", attempts: 1 });

    expect((await account.json(`/v1/convert/job/${id}/cancel`, { method: "POST" })).body.status).toBe("Canceled");
    // The converter killed the instance for the client that went away, not at its 15 s timeout.
    const after = await vi.waitUntil(
      async () => {
        const state = await converter();
        return state.canceled === before.canceled + 1 ? state : false;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(after.timedOut).toBe(before.timedOut);
    expect(await jobRow(id)).toMatchObject({ status: "Canceled", attempts: 1, error_code: null, output_key: null });
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  });
});

describe("back-pressure through the queue", () => {
  it("keeps a job waiting through more busy answers than the queue's max_retries, then converts it; nothing is dead-lettered", async () => {
    const deadLettered = vi.spyOn(console, "warn");
    // max_retries is 3: with message.retry() the 5th delivery would go to the dead-letter queue.
    await platform({ requests: ["busy", "busy", "busy", "busy", "busy", "busy"] });
    const before = await container().stats();
    const account = await seedAccount({ credits: 10 });
    const job = await convertTxt(account);
    const done = await waitForJob(account, job.id);
    expect(done.status, JSON.stringify(done.error)).toBe("Succeeded");
    expect(await downloadText(account, job.id)).toContain("section with header");
    expect((await container().stats()).requests - before.requests).toBe(7);
    expect(await jobRow(job.id)).toMatchObject({ attempts: 1, waiting_since: null });
    expect((await balance(account.accountId)).credits).toBe(10 - job.creditCost);
    expect(deadLettered.mock.calls.filter((c) => String(c[0]).includes("dead-lettered"))).toEqual([]);
    deadLettered.mockRestore();
  });

  it("fails a job whose wait budget runs out with convert.unavailable, refunded", async () => {
    await platform({ start: Array(1000).fill("no-instance") });
    const account = await seedAccount({ credits: 10 });
    const job = await convertTxt(account);
    // The first back-pressure starts the job's wait clock.
    await vi.waitUntil(async () => (await jobRow(job.id)).waiting_since !== null, { timeout: 20_000, interval: 100 });
    // As if the platform had been unavailable for longer than the 30 s budget.
    await env.DB.prepare("UPDATE jobs SET waiting_since = waiting_since - 60000 WHERE id = ?1").bind(job.id).run();
    const done = await waitForJob(account, job.id, undefined, 20_000);
    expect(done.status).toBe("Failed");
    expect(done.error.code).toBe("convert.unavailable");
    expect(done.error.detail).toContain("There is no Container instance available");
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  });
});

describe("health without side effects", () => {
  it("GET /health and GET /v1/converter never start a stopped container", async () => {
    const before = await platform({});
    const account = await seedAccount();
    const health = await account.json("/health");
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: "ok", api: "ok", database: "ok" });
    const status = await account.json("/v1/converter");
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      transport: "container",
      running: 0,
      containers: [{ name: "converter-0", status: "stopped", converter: null }],
    });
    const after = await container().stats();
    expect(after.startAttempts).toBe(before.startAttempts);
    expect(after.running).toBe(false);
  });

  it("GET /v1/converter reports a running container's converter: its instances and queue", async () => {
    await platform({});
    const account = await seedAccount({ credits: 10 });
    const job = await convertTxt(account);
    expect((await waitForJob(account, job.id)).status).toBe("Succeeded");
    const requestsBefore = (await container().stats()).requests;
    const status = await account.json("/v1/converter");
    expect(status.status).toBe(200);
    expect(status.body.running).toBe(1);
    const [c0] = status.body.containers;
    expect(c0).toMatchObject({
      name: "converter-0",
      status: "healthy",
      converter: { status: "ok", instances: { total: 2 }, queued: 0 },
    });
    expect(c0.converter.conversions).toBeGreaterThanOrEqual(1);
    expect(Date.parse(c0.since)).toBeGreaterThan(0);
    // Asking converted nothing.
    expect((await container().stats()).requests).toBe(requestsBefore);
  });

  it("GET /v1/converter needs an API key", async () => {
    const { exports } = await import("cloudflare:workers");
    const res = await exports.default.fetch(new Request("http://docconv.test/v1/converter"));
    expect(res.status).toBe(401);
    expect((await res.json<{ error: string }>()).error).toBe("auth.missing_key");
  });
});
