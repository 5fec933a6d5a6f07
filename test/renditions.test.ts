import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { JobStatus } from "../src/db/schema";
import { signDownloadUrl } from "../src/storage/signed-urls";
import {
  BASE,
  balance,
  fixture,
  form,
  insertJobs,
  pdfPageCount,
  seedAccount,
  type TestAccount,
  upload,
  waitForJob,
} from "./harness";

const convert = (
  account: TestAccount,
  fileId: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) => account.json(`/v1/files/${fileId}/convert`, { method: "POST", body: form(fields), headers });

const download = (url: string, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(url, { headers }));

async function jobsOf(accountId: string) {
  const rows = await env.DB.prepare(
    "SELECT id, kind, status, file_id, credit_cost, finished_at FROM jobs WHERE account_id = ?1 ORDER BY id",
  )
    .bind(accountId)
    .all<{
      id: string;
      kind: string;
      status: string;
      file_id: string;
      credit_cost: number;
      finished_at: number | null;
    }>();
  return rows.results;
}

describe("POST /v1/files/{file_id}/convert", () => {
  it("converts on a miss, waits for the job, and answers with a signed URL to the real PDF", async () => {
    const account = await seedAccount({ credits: 100 });
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const res = await convert(account, file.file_id, { format: "pdf" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["download_url", "expires_at", "file_id", "format", "source_format"]);
    expect(res.body).toMatchObject({ file_id: file.file_id, source_format: "docx", format: "pdf" });
    expect(res.headers.get("x-rendition-cache")).toBe("miss");
    const ttl = Date.parse(res.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(3500_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);

    const jobs = await jobsOf(account.accountId);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ kind: "rendition", status: "Succeeded", file_id: file.file_id });
    expect((await balance(account.accountId)).credits).toBe(100 - jobs[0]!.credit_cost);
    const stored = await env.DB.prepare("SELECT output_expires_at FROM jobs WHERE id = ?1")
      .bind(jobs[0]!.id)
      .first<{ output_expires_at: number | null }>();
    expect(stored!.output_expires_at).toBeNull();

    const pdf = await download(res.body.download_url);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("content-disposition")).toContain('filename="report.pdf"');
    const bytes = new Uint8Array(await pdf.arrayBuffer());
    expect(new TextDecoder().decode(bytes.slice(0, 5))).toBe("%PDF-");
    expect(pdfPageCount(bytes)).toBeGreaterThanOrEqual(1);
  });

  it("wakes the waiting request as soon as the job ends (JobWaiter), not on a polling step", async () => {
    const account = await seedAccount();
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const res = await convert(account, file.file_id, { format: "odt" });
    expect(res.status).toBe(200);
    const answeredAt = Date.now();
    const [job] = await jobsOf(account.accountId);
    // The waiter's backstop poll is 5 s; a notified waiter answers within milliseconds of the job's end.
    expect(answeredAt - job!.finished_at!).toBeLessThan(1500);
  });

  it("serves a repeat call from the cache: a signed URL at once, no new job, no charge", async () => {
    const account = await seedAccount({ credits: 100 });
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const first = await convert(account, file.file_id, { format: "pdf" });
    expect(first.status).toBe(200);
    const charged = await balance(account.accountId);

    const again = await convert(account, file.file_id, { format: "PDF" });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-rendition-cache")).toBe("hit");
    expect(again.body).toMatchObject({ file_id: file.file_id, source_format: "docx", format: "pdf" });
    expect(Date.parse(again.body.expires_at)).toBeGreaterThanOrEqual(Date.parse(first.body.expires_at));
    expect(await jobsOf(account.accountId)).toHaveLength(1);
    expect(await balance(account.accountId)).toEqual(charged);
    const pdf = await download(again.body.download_url);
    expect(pdf.status).toBe(200);
    expect(new TextDecoder().decode(new Uint8Array(await pdf.arrayBuffer()).slice(0, 5))).toBe("%PDF-");
  });

  it("keys the cache by options: other options convert again, the same options in another order do not", async () => {
    const account = await seedAccount();
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    expect((await convert(account, file.file_id, { format: "pdf" })).status).toBe(200);
    const paged = await convert(account, file.file_id, { format: "pdf", pages: "1", pdfa: "2b" });
    expect(paged.status).toBe(200);
    expect(paged.headers.get("x-rendition-cache")).toBe("miss");
    expect(await jobsOf(account.accountId)).toHaveLength(2);
    const fd = new FormData();
    fd.set("pdfa", "2b");
    fd.set("format", "pdf");
    fd.set("pages", "1");
    const reordered = await account.json(`/v1/files/${file.file_id}/convert`, { method: "POST", body: fd });
    expect(reordered.headers.get("x-rendition-cache")).toBe("hit");
    expect(await jobsOf(account.accountId)).toHaveLength(2);
  });

  it("shares one conversion between concurrent identical misses (single flight): one job, one charge", async () => {
    const account = await seedAccount({ credits: 100 });
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const results = await Promise.all([1, 2, 3].map(() => convert(account, file.file_id, { format: "pdf" })));
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const jobs = await jobsOf(account.accountId);
    expect(jobs).toHaveLength(1);
    expect((await balance(account.accountId)).credits).toBe(100 - jobs[0]!.credit_cost);
    const ledger = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM credit_ledger WHERE account_id = ?1 AND reason = 'debit'",
    )
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(ledger!.n).toBe(1);
  });

  it("answers 202 with the job's status URL when the wait runs out, and serves the result later", async () => {
    const account = await seedAccount({ credits: 100 });
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const res = await convert(account, file.file_id, { format: "pdf", wait: "0" });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      job_id: expect.any(String),
      status: "Queued",
      status_url: `/v1/convert/job/${res.body.job_id}`,
    });
    expect(res.headers.get("location")).toBe(res.body.status_url);
    const job = await waitForJob(account, res.body.job_id);
    expect(job.status).toBe("Succeeded");
    const later = await convert(account, file.file_id, { format: "pdf", wait: "0" });
    expect(later.status).toBe(200);
    expect(later.headers.get("x-rendition-cache")).toBe("hit");
    expect(await jobsOf(account.accountId)).toHaveLength(1);
  });

  it("answers seed 000's 502 upstream_error convert.still_running, not a 202, when a call without `wait` outlasts the wait; the retry joins the same job", async () => {
    const account = await seedAccount({ credits: 100 });
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    // The Worker under test reads this very env object: a wait of 0 makes any miss outlast it.
    const vars = env as { RENDITION_WAIT_SECONDS: string };
    const configured = vars.RENDITION_WAIT_SECONDS;
    vars.RENDITION_WAIT_SECONDS = "0";
    let res: Awaited<ReturnType<typeof convert>>;
    try {
      res = await convert(account, file.file_id, { format: "pdf" });
    } finally {
      vars.RENDITION_WAIT_SECONDS = configured;
    }
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({
      error: "upstream_error",
      code: "convert.still_running",
      job_id: expect.any(String),
      status_url: `/v1/convert/job/${res.body.job_id}`,
    });
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("location")).toBeNull();
    const retried = await convert(account, file.file_id, { format: "pdf" });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.download_url).toEqual(expect.any(String));
    const jobs = await jobsOf(account.accountId);
    expect(jobs.map((j) => j.id)).toEqual([res.body.job_id]);
    expect((await balance(account.accountId)).credits).toBe(100 - jobs[0]!.credit_cost);
  });

  it("answers 202 after a short wait on a slower conversion, and a second caller joins the same job", async () => {
    const account = await seedAccount();
    const file = await upload(account, "slides.pptx", fixture("pptx-slides.pptx"));
    const res = await convert(account, file.file_id, { format: "png", wait: "0.05" });
    expect(res.status).toBe(202);
    const joined = await convert(account, file.file_id, { format: "png" });
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    expect(joined.headers.get("x-rendition-cache")).toBe("miss");
    const jobs = await jobsOf(account.accountId);
    expect(jobs.map((j) => j.id)).toEqual([res.body.job_id]);
  });

  it("answers 502 convert.failed when the conversion fails, refunds it, and converts again on the next call", async () => {
    const account = await seedAccount({ credits: 50 });
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    // The stored input disappears: the consumer fails the job (upstream), not the document's fault.
    await env.BUCKET.delete(`uploads/${account.accountId}/${file.file_id}`);
    const res = await convert(account, file.file_id, { format: "pdf" });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({
      error: "upstream_error",
      code: "convert.failed",
      status: "Failed",
      cause: "upstream_error",
    });
    expect(res.body.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await balance(account.accountId)).toEqual({ credits: 50, ledgerSum: 50 });

    const again = await convert(account, file.file_id, { format: "pdf" });
    expect(again.status).toBe(502);
    expect(again.body.job_id).not.toBe(res.body.job_id);
    expect(await jobsOf(account.accountId)).toHaveLength(2);
    expect((await balance(account.accountId)).credits).toBe(50);
  });

  it("answers 422 with the document's own error for a password-protected file, refunded", async () => {
    const account = await seedAccount({ credits: 30 });
    const file = await upload(account, "secret.odt", fixture("hostile-password-protected.odt"));
    const res = await convert(account, file.file_id, { format: "pdf" });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: "unprocessable", code: "convert.password_protected", status: "Failed" });
    expect((await balance(account.accountId)).credits).toBe(30);
  });

  it("does not serve a cached rendition whose job was canceled or failed: it converts again", async () => {
    const account = await seedAccount({ credits: 100 });
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const first = await convert(account, file.file_id, { format: "txt" });
    expect(first.status).toBe(200);
    const [job] = await jobsOf(account.accountId);
    await env.DB.prepare("UPDATE jobs SET status = 'Canceled' WHERE id = ?1").bind(job!.id).run();
    const again = await convert(account, file.file_id, { format: "txt" });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-rendition-cache")).toBe("miss");
    const jobs = await jobsOf(account.accountId);
    expect(jobs).toHaveLength(2);
    const row = await env.DB.prepare("SELECT job_id FROM renditions WHERE source_id = ?1")
      .bind(file.file_id)
      .all<{ job_id: string }>();
    expect(row.results).toEqual([{ job_id: jobs[1]!.id }]);
    const text = await (await download(again.body.download_url)).text();
    expect(text.length).toBeGreaterThan(0);
  });

  it("refuses an unsupported pair with 400 and the valid targets, charging nothing", async () => {
    const account = await seedAccount({ credits: 10 });
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const res = await convert(account, file.file_id, { format: "mp3" });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: "invalid_request",
      code: "convert.unsupported_format_pair",
      sourceFormat: "docx",
      targetFormat: "mp3",
    });
    expect(res.body.supportedTargets).toContain("pdf");
    expect(res.body.detail).toContain("pdf");
    expect(await jobsOf(account.accountId)).toHaveLength(0);
    expect((await balance(account.accountId)).credits).toBe(10);
  });

  it("validates the body: format is required, wait is a number ≥ 0, options apply to the target", async () => {
    const account = await seedAccount();
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const missing = await convert(account, file.file_id, {});
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe("request.invalid");
    const negative = await convert(account, file.file_id, { format: "pdf", wait: "-1" });
    expect(negative.status).toBe(400);
    expect(negative.body.code).toBe("request.invalid");
    const option = await convert(account, file.file_id, { format: "txt", dpi: "150" });
    expect(option.status).toBe(400);
    expect(option.body.code).toBe("convert.invalid_option");
  });

  it("answers 404 for a missing file and for another account's file, cached rendition or not", async () => {
    const owner = await seedAccount();
    const stranger = await seedAccount();
    const file = await upload(owner, "report.docx", fixture("docx-header-footer.docx"));
    const missing = await convert(owner, "file_doesnotexist00000000", { format: "pdf" });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: "not_found", code: "files.not_found" });
    expect((await convert(stranger, file.file_id, { format: "txt" })).status).toBe(404);
    expect((await convert(owner, file.file_id, { format: "txt" })).status).toBe(200);
    // The cache key depends only on the file and the format: the account check must still hold on a hit.
    const afterCache = await convert(stranger, file.file_id, { format: "txt" });
    expect(afterCache.status).toBe(404);
    expect(afterCache.body.code).toBe("files.not_found");
    expect(await jobsOf(stranger.accountId)).toHaveLength(0);
  });

  it("returns a D1 bookmark and accepts one back (read-your-writes)", async () => {
    const account = await seedAccount();
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const miss = await convert(account, file.file_id, { format: "txt" });
    const bookmark = miss.headers.get("x-d1-bookmark");
    expect(bookmark).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
    const hit = await convert(account, file.file_id, { format: "txt" }, { "x-d1-bookmark": bookmark! });
    expect(hit.status).toBe(200);
    expect(hit.headers.get("x-rendition-cache")).toBe("hit");
    expect(hit.headers.get("x-d1-bookmark")).toBeTruthy();
    // A malformed bookmark is ignored rather than trusted.
    const odd = await convert(account, file.file_id, { format: "txt" }, { "x-d1-bookmark": "not-a-bookmark" });
    expect(odd.status).toBe(200);
  });
});

describe("rendition downloads", () => {
  async function rendition() {
    const account = await seedAccount();
    const file = await upload(account, "quarterly report.docx", fixture("docx-header-footer.docx"));
    const res = await convert(account, file.file_id, { format: "pdf" });
    expect(res.status).toBe(200);
    return res.body as { download_url: string };
  }

  it("names the attachment after the original file with the new extension", async () => {
    const { download_url } = await rendition();
    const res = await download(download_url);
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="quarterly report.pdf"; filename*=UTF-8''quarterly%20report.pdf`,
    );
    expect(res.headers.get("content-type")).toBe("application/pdf");
  });

  it("serves a Range with 206 and Content-Range", async () => {
    const { download_url } = await rendition();
    const full = new Uint8Array(await (await download(download_url)).arrayBuffer());
    const res = await download(download_url, { range: "bytes=0-9" });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 0-9/${full.length}`);
    const part = new Uint8Array(await res.arrayBuffer());
    expect(part).toEqual(full.slice(0, 10));
  });

  it("answers If-None-Match with the current ETag with 304", async () => {
    const { download_url } = await rendition();
    const first = await download(download_url);
    const etag = first.headers.get("etag");
    expect(etag).toBeTruthy();
    await first.arrayBuffer();
    const res = await download(download_url, { "if-none-match": etag! });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe("");
  });

  it("refuses an expired signed URL with 403 download.expired", async () => {
    const { download_url } = await rendition();
    const token = download_url.split("/v1/downloads/")[1]!;
    const claims = JSON.parse(atob(token.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))) as {
      k: string;
      n: string;
      t: string;
    };
    const expired = await signDownloadUrl(BASE, env.DOWNLOAD_SIGNING_KEY, {
      key: claims.k,
      fileName: claims.n,
      contentType: claims.t,
      expiresAt: Date.now() - 1000,
    });
    const res = await download(expired);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "download.expired", type: "forbidden" });
  });

  it("refuses a tampered signed URL with 403 download.invalid_signature", async () => {
    const { download_url } = await rendition();
    const [payload, signature] = download_url.split("/v1/downloads/")[1]!.split(".");
    const claims = JSON.parse(atob(payload!.replace(/-/g, "+").replace(/_/g, "/")));
    const forged = btoa(JSON.stringify({ ...claims, e: claims.e + 86400 }))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    for (const url of [
      `${BASE}/v1/downloads/${forged}.${signature}`,
      `${download_url.slice(0, -2)}${download_url.endsWith("AA") ? "BB" : "AA"}`,
    ]) {
      const res = await download(url);
      expect(res.status).toBe(403);
      expect((await res.json<{ error: string }>()).error).toBe("download.invalid_signature");
    }
  });

  it("has one spelling: the same signature padded or in standard base64 is refused", async () => {
    const { download_url } = await rendition();
    expect((await download(download_url)).status).toBe(200);
    const dot = download_url.lastIndexOf(".");
    const [prefix, signature] = [download_url.slice(0, dot), download_url.slice(dot + 1)];
    const standard = signature.replace(/-/g, "+").replace(/_/g, "/");
    for (const url of [`${prefix}.${signature}=`, `${prefix}.${signature}==`, `${prefix}.${signature}%3D`]) {
      const res = await download(url);
      expect(res.status, url).toBe(403);
      expect((await res.json<{ error: string }>()).error).toBe("download.invalid_signature");
    }
    // Standard base64: a `/` makes another path (404), a `+` alone reaches the check and is refused.
    if (standard !== signature) expect([403, 404]).toContain((await download(`${prefix}.${standard}`)).status);
  });
});

describe("JobWaiter", () => {
  async function queuedJob(status: string) {
    const account = await seedAccount();
    const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
    const [id] = await insertJobs([
      {
        accountId: account.accountId,
        fileId: file.file_id,
        kind: "rendition",
        status: status as JobStatus,
        creditCost: 1,
      },
    ]);
    return id!;
  }
  const waiter = (id: string) =>
    env.JOB_WAITER.getByName(id) as unknown as {
      waitForEnd(id: string, ms: number): Promise<boolean>;
      notify(): Promise<void>;
    };

  it("returns at once for a job that ended before the waiter registered", async () => {
    const id = await queuedJob("Succeeded");
    const started = Date.now();
    expect(await waiter(id).waitForEnd(id, 10_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("gives up at the deadline while the job is still queued", async () => {
    const id = await queuedJob("Queued");
    const started = Date.now();
    expect(await waiter(id).waitForEnd(id, 200)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("wakes every waiter when notified", async () => {
    const id = await queuedJob("Queued");
    const waits = [waiter(id).waitForEnd(id, 10_000), waiter(id).waitForEnd(id, 10_000)];
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await waiter(id).notify();
    expect(await Promise.all(waits)).toEqual([true, true]);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
