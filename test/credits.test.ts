import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IDEMPOTENCY_KEY_TTL_MS } from "../src/domain/jobs";
import { openServices } from "../src/domain/services";
import { processJob } from "../src/queue/consumer";
import { backdateJob, balance, fixture, form, seedAccount, submit, upload, waitForJob } from "./harness";

const docx = () => ({ name: "report.docx", bytes: fixture("docx-header-footer.docx") });

async function ledger(accountId: string) {
  const rows = await env.DB.prepare(
    "SELECT delta, reason, job_id FROM credit_ledger WHERE account_id = ?1 ORDER BY created_at",
  )
    .bind(accountId)
    .all<{ delta: number; reason: string; job_id: string | null }>();
  return rows.results;
}

describe("credits", () => {
  it("refuses a job the balance cannot pay with 402 credits.insufficient, recording nothing", async () => {
    const account = await seedAccount({ credits: 0 });
    const res = await submit(account, { file: docx(), targetFormat: "pdf" });
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({ error: "credits.insufficient", type: "payment_required" });
    const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(jobs!.n).toBe(0);
    const files = await env.DB.prepare("SELECT COUNT(*) AS n FROM files WHERE account_id = ?1")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(files!.n).toBe(0);
    expect(await balance(account.accountId)).toEqual({ credits: 0, ledgerSum: 0 });
  });

  it("debits at submission with a ledger row, and the balance always equals the ledger", async () => {
    const account = await seedAccount({ credits: 25 });
    const res = await submit(account, { file: docx(), targetFormat: "pdf" });
    expect(res.status).toBe(202);
    const rows = await ledger(account.accountId);
    expect(rows.filter((r) => r.reason === "debit")).toEqual([
      { delta: -res.body.creditCost, reason: "debit", job_id: res.body.id },
    ]);
    await waitForJob(account, res.body.id);
    const b = await balance(account.accountId);
    expect(b.credits).toBe(25 - res.body.creditCost);
    expect(b.ledgerSum).toBe(b.credits);
  });

  it("refunds a failed job exactly once, even when its message is delivered again", async () => {
    const account = await seedAccount({ credits: 12 });
    const res = await submit(account, {
      file: { name: "secret.odt", bytes: fixture("hostile-password-protected.odt") },
      targetFormat: "pdf",
    });
    const job = await waitForJob(account, res.body.id);
    expect(job.status).toBe("Failed");
    // Redelivery after the end, directly and through the queue: neither converts nor refunds again.
    expect(await processJob(openServices(env), res.body.id)).toEqual({ kind: "done" });
    await env.JOBS_QUEUE.send({ type: "convert", jobId: res.body.id });
    await new Promise((r) => setTimeout(r, 300));
    const refunds = (await ledger(account.accountId)).filter((r) => r.reason === "refund");
    expect(refunds).toEqual([{ delta: res.body.creditCost, reason: "refund", job_id: res.body.id }]);
    expect(await balance(account.accountId)).toEqual({ credits: 12, ledgerSum: 12 });
  });

  it("enforces the free plan's daily limit with 402 credits.daily_limit_reached", async () => {
    const account = await seedAccount({ plan: "free", credits: 1000 });
    await env.DB.prepare("UPDATE accounts SET daily_used = daily_limit, daily_day = ?2 WHERE id = ?1")
      .bind(account.accountId, new Date().toISOString().slice(0, 10))
      .run();
    const res = await submit(account, { file: docx(), targetFormat: "pdf" });
    expect(res.status).toBe(402);
    expect(res.body.error).toBe("credits.daily_limit_reached");
    expect((await balance(account.accountId)).credits).toBe(1000);
  });

  it("reports entitlements: plan, balance and daily usage", async () => {
    const free = await seedAccount({ plan: "free", credits: 80 });
    const res = await submit(free, { file: docx(), targetFormat: "txt" });
    const e = (await free.json("/v1/convert/entitlements/me")).body;
    expect(e).toMatchObject({
      userId: free.userId,
      organizationId: null,
      planId: "free",
      planName: "Free",
      totalCredits: 80 - res.body.creditCost,
      tier: "free",
      dailyLimit: 100,
      dailyUsed: res.body.creditCost,
    });
    expect(Date.parse(e.resetDate)).toBeGreaterThan(Date.now());
    expect(new Date(e.resetDate).toISOString().slice(11)).toBe("00:00:00.000Z");
    const pro = await seedAccount({ plan: "pro", workspace: `acme-${Date.now()}` });
    const p = (await pro.json("/v1/convert/entitlements/me")).body;
    expect(p).toMatchObject({
      planId: "pro",
      tier: "pro",
      organizationId: pro.accountId,
      dailyLimit: null,
      dailyUsed: null,
      resetDate: null,
    });
    await waitForJob(free, res.body.id);
  });
});

describe("Idempotency-Key", () => {
  it("returns the same job for the same request, charging once", async () => {
    const account = await seedAccount({ credits: 30 });
    const { file_id } = await upload(account, "docx-header-footer.docx");
    const headers = { "idempotency-key": "order-42" };
    const first = await submit(account, { fileId: file_id, targetFormat: "pdf" }, headers);
    const second = await submit(account, { fileId: file_id, targetFormat: "pdf" }, headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect((await balance(account.accountId)).credits).toBe(30 - first.body.creditCost);
    await waitForJob(account, first.body.id);
  });

  it("a replay answers the job as it is now: finished, with its output and download link", async () => {
    const account = await seedAccount({ credits: 30 });
    const headers = { "idempotency-key": "now-1" };
    const first = await submit(account, { file: docx(), targetFormat: "txt" }, headers);
    expect(first.body).toMatchObject({ status: "Queued" });
    await waitForJob(account, first.body.id);
    const replay = await submit(account, { file: docx(), targetFormat: "txt" }, headers);
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toMatchObject({
      id: first.body.id,
      status: "Succeeded",
      creditCost: first.body.creditCost,
      error: null,
    });
    expect(replay.body.output).toMatchObject({ contentType: "text/plain; charset=utf-8" });
    const download = await account.call(new URL(replay.body.download_url).pathname);
    expect(download.status).toBe(200);
    expect((await download.text()).length).toBeGreaterThan(0);
    expect((await balance(account.accountId)).credits).toBe(30 - first.body.creditCost);
  });

  it("a key expires 24 hours after its job was admitted: the same request then makes a new job", async () => {
    const account = await seedAccount({ credits: 30 });
    const headers = { "idempotency-key": "day-1" };
    const first = await submit(account, { file: docx(), targetFormat: "txt" }, headers);
    await waitForJob(account, first.body.id);
    // Just inside the window it still replays.
    await backdateJob(first.body.id, IDEMPOTENCY_KEY_TTL_MS - 60_000);
    expect((await submit(account, { file: docx(), targetFormat: "txt" }, headers)).body.id).toBe(first.body.id);
    await backdateJob(first.body.id, 60_000);
    const fresh = await submit(account, { file: docx(), targetFormat: "txt" }, headers);
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(fresh.body).toMatchObject({ status: "Queued" });
    expect(fresh.body.id).not.toBe(first.body.id);
    // The key now belongs to the new job; the old one is untouched otherwise.
    expect((await submit(account, { file: docx(), targetFormat: "txt" }, headers)).body.id).toBe(fresh.body.id);
    expect((await account.json(`/v1/convert/job/${first.body.id}`)).body.status).toBe("Succeeded");
    expect((await balance(account.accountId)).credits).toBe(30 - 2 * first.body.creditCost);
    await waitForJob(account, fresh.body.id);
  });

  it("admits one job when the same key races", async () => {
    const account = await seedAccount({ credits: 30 });
    const headers = { "idempotency-key": "race-1" };
    const results = await Promise.all(
      [1, 2, 3].map(() => submit(account, { file: docx(), targetFormat: "txt" }, headers)),
    );
    expect(results.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect((await balance(account.accountId)).credits).toBe(30 - results[0]!.body.creditCost);
    await waitForJob(account, results[0]!.body.id);
  });

  it("refuses the same key for a different request", async () => {
    const account = await seedAccount();
    const headers = { "idempotency-key": "k-1" };
    const first = await submit(account, { file: docx(), targetFormat: "pdf" }, headers);
    const other = await submit(account, { file: docx(), targetFormat: "txt" }, headers);
    expect(other.status).toBe(422);
    expect(other.body.error).toBe("request.idempotency_mismatch");
    await waitForJob(account, first.body.id);
  });
});

describe("POST /v1/convert/batch", () => {
  it("creates one job per file", async () => {
    const account = await seedAccount({ credits: 100 });
    const { file_id } = await upload(account, "xlsx-simple.xlsx");
    const fd = form({ targetFormat: "pdf", fileIds: file_id });
    fd.append("files", new File([fixture("docx-header-footer.docx")], "a.docx"));
    fd.append("files", new File([fixture("pptx-slides.pptx")], "b.pptx"));
    const res = await account.json("/v1/convert/batch", { method: "POST", body: fd });
    expect(res.status).toBe(202);
    expect(res.body.jobs).toHaveLength(3);
    expect(res.body.jobs.map((j: any) => j.filename).sort()).toEqual(["a.docx", "b.pptx", "xlsx-simple.xlsx"]);
    expect(res.body.creditCost).toBe(res.body.jobs.reduce((s: number, j: any) => s + j.creditCost, 0));
    const done = await Promise.all(res.body.jobs.map((j: any) => waitForJob(account, j.id)));
    expect(done.map((j) => j.status)).toEqual(["Succeeded", "Succeeded", "Succeeded"]);
    expect((await balance(account.accountId)).credits).toBe(100 - res.body.creditCost);
  });

  it("is all-or-nothing: too few credits for the whole batch → 402, no job, no file, no charge", async () => {
    const account = await seedAccount({ credits: 2 });
    const fd = form({ targetFormat: "pdf" });
    for (const name of ["a.docx", "b.docx", "c.docx"])
      fd.append("files", new File([fixture("docx-header-footer.docx")], name));
    const res = await account.json("/v1/convert/batch", { method: "POST", body: fd });
    expect(res.status).toBe(402);
    const counts = await env.DB.prepare(
      "SELECT (SELECT COUNT(*) FROM jobs WHERE account_id = ?1) AS jobs, (SELECT COUNT(*) FROM files WHERE account_id = ?1) AS files",
    )
      .bind(account.accountId)
      .first<{ jobs: number; files: number }>();
    expect(counts).toEqual({ jobs: 0, files: 0 });
    expect(await balance(account.accountId)).toEqual({ credits: 2, ledgerSum: 2 });
  });

  it("is all-or-nothing: one unreadable file refuses the batch", async () => {
    const account = await seedAccount({ credits: 100 });
    const fd = form({ targetFormat: "pdf" });
    fd.append("files", new File([fixture("docx-header-footer.docx")], "good.docx"));
    fd.append("files", new File([fixture("hostile-truncated.docx")], "bad.docx"));
    const res = await account.json("/v1/convert/batch", { method: "POST", body: fd });
    expect(res.status).toBe(422);
    const counts = await env.DB.prepare(
      "SELECT (SELECT COUNT(*) FROM jobs WHERE account_id = ?1) AS jobs, (SELECT COUNT(*) FROM files WHERE account_id = ?1) AS files",
    )
      .bind(account.accountId)
      .first<{ jobs: number; files: number }>();
    expect(counts).toEqual({ jobs: 0, files: 0 });
  });

  it("honours Idempotency-Key: the same batch returns the same jobs, charged once; a different one is refused", async () => {
    const account = await seedAccount({ credits: 100 });
    const { file_id } = await upload(account, "xlsx-simple.xlsx");
    const batch = (files: string[], targetFormat = "txt") => {
      const fd = form({ targetFormat, fileIds: file_id });
      for (const name of files) fd.append("files", new File([fixture("docx-header-footer.docx")], name));
      return account.json("/v1/convert/batch", { method: "POST", body: fd, headers: { "idempotency-key": "batch-7" } });
    };
    const first = await batch(["a.docx", "b.docx"], "pdf");
    expect(first.status).toBe(202);
    expect(first.body.jobs).toHaveLength(3);
    const afterFirst = await balance(account.accountId);
    expect(afterFirst.credits).toBe(100 - first.body.creditCost);
    const files = await env.DB.prepare("SELECT COUNT(*) AS n FROM files WHERE account_id = ?1")
      .bind(account.accountId)
      .first<number>("n");

    // A retry (the uploads sent again) is the same batch: same jobs in the same order, no charge, no new file.
    const retried = await batch(["a.docx", "b.docx"], "pdf");
    expect(retried.status).toBe(202);
    expect(retried.headers.get("idempotent-replayed")).toBe("true");
    // Answered as the jobs are now (JobReplayResponse each), in the same order, with what they were charged.
    expect(retried.body.jobs.map((j: any) => j.id)).toEqual(first.body.jobs.map((j: any) => j.id));
    expect(retried.body.jobs.map((j: any) => j.creditCost)).toEqual(first.body.jobs.map((j: any) => j.creditCost));
    expect(retried.body.creditCost).toBe(first.body.creditCost);
    expect(await balance(account.accountId)).toEqual(afterFirst);
    expect(
      await env.DB.prepare("SELECT COUNT(*) AS n FROM files WHERE account_id = ?1")
        .bind(account.accountId)
        .first<number>("n"),
    ).toBe(files);

    // The same key for another request: another target, another file list, or a single job.
    for (const other of [await batch(["a.docx", "b.docx"], "txt"), await batch(["a.docx"], "pdf")]) {
      expect(other.status).toBe(422);
      expect(other.body.error).toBe("request.idempotency_mismatch");
    }
    const single = await submit(account, { fileId: file_id, targetFormat: "pdf" }, { "idempotency-key": "batch-7" });
    expect(single.status).toBe(422);
    expect(await balance(account.accountId)).toEqual(afterFirst);
    const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1")
      .bind(account.accountId)
      .first<number>("n");
    expect(jobs).toBe(3);
    await Promise.all(first.body.jobs.map((j: any) => waitForJob(account, j.id)));
    const done = await batch(["a.docx", "b.docx"], "pdf");
    expect(done.body.jobs.map((j: any) => j.status)).toEqual(["Succeeded", "Succeeded", "Succeeded"]);

    // A day later the key is free: the same batch makes new jobs, charged again.
    for (const j of first.body.jobs) await backdateJob(j.id, 24 * 3600 * 1000);
    const fresh = await batch(["a.docx", "b.docx"], "pdf");
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(fresh.body.jobs.map((j: any) => j.id)).not.toContain(first.body.jobs[0].id);
    expect((await balance(account.accountId)).credits).toBe(afterFirst.credits - fresh.body.creditCost);
    await Promise.all(fresh.body.jobs.map((j: any) => waitForJob(account, j.id)));
  });

  it("admits one batch when the same Idempotency-Key races", async () => {
    const account = await seedAccount({ credits: 100 });
    const send = () => {
      const fd = form({ targetFormat: "txt" });
      for (const name of ["a.docx", "b.docx"]) fd.append("files", new File([fixture("docx-header-footer.docx")], name));
      return account.json("/v1/convert/batch", {
        method: "POST",
        body: fd,
        headers: { "idempotency-key": "batch-race" },
      });
    };
    const results = await Promise.all([send(), send(), send()]);
    expect(results.map((r) => r.status)).toEqual([202, 202, 202]);
    const ids = (r: (typeof results)[number]) => r.body.jobs.map((j: any) => j.id);
    expect(ids(results[1]!)).toEqual(ids(results[0]!));
    expect(ids(results[2]!)).toEqual(ids(results[0]!));
    expect(results.map((r) => r.body.creditCost)).toEqual(Array(3).fill(results[0]!.body.creditCost));
    expect((await balance(account.accountId)).credits).toBe(100 - results[0]!.body.creditCost);
    // The losers' uploads were removed with their refused batch.
    expect(
      await env.DB.prepare("SELECT COUNT(*) AS n FROM files WHERE account_id = ?1")
        .bind(account.accountId)
        .first<number>("n"),
    ).toBe(2);
    await Promise.all(results[0]!.body.jobs.map((j: any) => waitForJob(account, j.id)));
  });

  it("refuses more files than maxBatchFiles with 413 limits.batch_too_large", async () => {
    const account = await seedAccount();
    const fd = form({ targetFormat: "pdf" });
    for (let i = 0; i < 11; i++) fd.append("files", new File([fixture("docx-header-footer.docx")], `${i}.docx`));
    const res = await account.json("/v1/convert/batch", { method: "POST", body: fd });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: "limits.batch_too_large", maxBatchFiles: 10 });
  });
});
