// Nothing of one account is visible to another: every endpoint that takes an id answers a second account's
// key exactly as it answers an id that does not exist. Plus signed-URL and HTML-output safety.
import { env, exports } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { uuidv7 } from "../src/ids";
import { signDownloadUrl } from "../src/storage/signed-urls";
import { BASE, fixture, form, seedAccount, submit, type TestAccount, upload, waitForJob } from "./harness";

async function ownerWithEverything() {
  const owner = await seedAccount({ credits: 200 });
  const file = await upload(owner, "report.docx", fixture("docx-header-footer.docx"));
  const accepted = await submit(owner, {
    fileId: file.file_id,
    targetFormat: "odt",
    webhookUrl: `http://127.0.0.1:${inject("webhookReceiverPort")}/security-${Date.now()}`,
  });
  const job = await waitForJob(owner, accepted.body.id);
  expect(job.status).toBe("Succeeded");
  // A cached rendition of the file, so a cache hit would be there to leak.
  const rendition = await owner.json(`/v1/files/${file.file_id}/convert`, {
    method: "POST",
    body: form({ format: "pdf" }),
  });
  expect(rendition.status).toBe(200);
  const endpoint = await owner.json("/v1/webhooks", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url: "https://hooks.example.com/docconv" }),
  });
  expect(endpoint.status).toBe(201);
  let deliveryId = "";
  await vi.waitUntil(async () => {
    deliveryId = (await owner.json(`/v1/webhooks/deliveries?jobId=${job.id}`)).body.data?.[0]?.id ?? "";
    return deliveryId !== "";
  });
  return { owner, fileId: file.file_id, jobId: job.id, webhookId: endpoint.body.id as string, deliveryId };
}

type Probe = [
  name: string,
  call: (
    account: TestAccount,
    ids: { fileId: string; jobId: string; webhookId: string; deliveryId: string },
  ) => Promise<{ status: number; body: any }>,
];

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

const PROBES: Probe[] = [
  ["GET /v1/files/{id}", (a, i) => a.json(`/v1/files/${i.fileId}`)],
  [
    "POST /v1/files/{id}/convert (cached)",
    (a, i) => a.json(`/v1/files/${i.fileId}/convert`, { method: "POST", body: form({ format: "pdf" }) }),
  ],
  [
    "POST /v1/convert with fileId",
    (a, i) => a.json("/v1/convert", { method: "POST", body: form({ fileId: i.fileId, targetFormat: "pdf" }) }),
  ],
  [
    "POST /v1/convert/batch with fileIds",
    (a, i) => a.json("/v1/convert/batch", json({ fileIds: [i.fileId], targetFormat: "pdf" })),
  ],
  ["GET /v1/convert/job/{id}", (a, i) => a.json(`/v1/convert/job/${i.jobId}`)],
  ["GET /v1/convert/job/{id}/download", (a, i) => a.json(`/v1/convert/job/${i.jobId}/download`)],
  ["POST /v1/convert/job/{id}/cancel", (a, i) => a.json(`/v1/convert/job/${i.jobId}/cancel`, { method: "POST" })],
  ["POST /v1/runs/{id}/export", (a, i) => a.json(`/v1/runs/${i.jobId}/export`, json({ format: "pdf" }))],
  ["DELETE /v1/webhooks/{id}", (a, i) => a.json(`/v1/webhooks/${i.webhookId}`, { method: "DELETE" })],
  ["GET /v1/webhooks/deliveries/{id}", (a, i) => a.json(`/v1/webhooks/deliveries/${i.deliveryId}`)],
  [
    "POST /v1/webhooks/deliveries/{id}/redeliver",
    (a, i) => a.json(`/v1/webhooks/deliveries/${i.deliveryId}/redeliver`, { method: "POST" }),
  ],
];

describe("no scope leak", () => {
  it.each(PROBES)("%s: another account's id answers like an unknown id", async (_, probe) => {
    const ids = await ownerWithEverything();
    const stranger = await seedAccount({ credits: 200 });
    const unknown = {
      fileId: "file_00000000000000000000",
      jobId: uuidv7(),
      webhookId: "whk_00000000000000000000",
      deliveryId: "dlv_00000000000000000000",
    };
    const theirs = await probe(stranger, ids);
    const missing = await probe(stranger, unknown);
    expect(theirs.status).toBe(404);
    expect(theirs.body).toEqual(missing.body);
    expect(JSON.stringify(theirs.body)).not.toContain(ids.owner.accountId);
    // And the owner's things are untouched.
    expect((await ids.owner.json(`/v1/convert/job/${ids.jobId}`)).body.status).toBe("Succeeded");
    expect((await ids.owner.json("/v1/webhooks")).body.data.map((w: any) => w.id)).toContain(ids.webhookId);
  });

  it("lists only the key's own jobs, deliveries and webhooks", async () => {
    const ids = await ownerWithEverything();
    const stranger = await seedAccount();
    expect((await stranger.json("/v1/convert/jobs")).body.data).toEqual([]);
    expect((await stranger.json("/v1/webhooks")).body.data).toEqual([]);
    expect((await stranger.json("/v1/webhooks/deliveries")).body.data).toEqual([]);
    expect((await stranger.json(`/v1/webhooks/deliveries?jobId=${ids.jobId}`)).body.data).toEqual([]);
  });

  it("keeps a workspace key and its user's personal key apart", async () => {
    const name = `ws-${Date.now()}`;
    const personal = await seedAccount({ user: `u-${name}` });
    const workspace = await seedAccount({ user: `u-${name}`, workspace: name });
    const accepted = await submit(workspace, {
      file: { name: "a.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "txt",
    });
    expect((await personal.json(`/v1/convert/job/${accepted.body.id}`)).status).toBe(404);
    expect((await workspace.json(`/v1/convert/job/${accepted.body.id}`)).status).toBe(200);
    await waitForJob(workspace, accepted.body.id);
  });
});

describe("signed download URLs", () => {
  it("refuses a tampered URL with 403 download.invalid_signature and an expired one with 403 download.expired", async () => {
    const owner = await seedAccount();
    const accepted = await submit(owner, {
      file: { name: "a.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "txt",
    });
    const job = await waitForJob(owner, accepted.body.id);
    const ok = await exports.default.fetch(new Request(job.download_url));
    expect(ok.status).toBe(200);
    const [payload, sig] = job.download_url.split("/v1/downloads/")[1].split(".");
    // Point the payload at another object, keep the signature.
    const forged = btoa(
      JSON.stringify({ ...JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))), k: "uploads/someone/else" }),
    )
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    for (const url of [
      `${BASE}/v1/downloads/${forged}.${sig}`,
      `${BASE}/v1/downloads/${payload}.${sig.slice(0, -2)}AA`,
      `${BASE}/v1/downloads/garbage`,
    ]) {
      const res = await exports.default.fetch(new Request(url));
      expect(res.status).toBe(403);
      expect((await res.json<any>()).error).toBe("download.invalid_signature");
    }
    const { output_key } = (await env.DB.prepare("SELECT output_key FROM jobs WHERE id = ?1")
      .bind(job.id)
      .first<{ output_key: string }>())!;
    const expired = await signDownloadUrl(BASE, "test-signing-key", {
      key: output_key,
      fileName: "a.txt",
      contentType: "text/plain",
      expiresAt: Date.now() - 1000,
    });
    const res = await exports.default.fetch(new Request(expired));
    expect(res.status).toBe(403);
    expect((await res.json<any>()).error).toBe("download.expired");
  });
});

describe("converted HTML", () => {
  it("is served as an attachment that cannot run script on the API's origin", async () => {
    const owner = await seedAccount();
    const accepted = await submit(owner, {
      file: { name: "a.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "html",
    });
    const job = await waitForJob(owner, accepted.body.id);
    expect(job.status).toBe("Succeeded");
    for (const res of [
      await owner.call(`/v1/convert/job/${job.id}/download`),
      await exports.default.fetch(new Request(job.download_url)),
    ]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.headers.get("content-disposition")).toMatch(/^attachment;/);
      expect(res.headers.get("content-security-policy")).toMatch(/^sandbox/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      await res.arrayBuffer();
    }
  });
});
