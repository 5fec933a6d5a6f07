import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { completeJob } from "../src/db/jobs";
import { openServices } from "../src/domain/services";
import worker from "../src/index";
import { processJob } from "../src/queue/consumer";
import { aroundBucket, balance, fixture, form, parkedJob, seedAccount, submit, upload, waitForJob } from "./harness";

describe("POST /v1/convert/job/{id}/cancel", () => {
  it("cancels a Queued job at once and refunds it; a late message does nothing", async () => {
    const account = await seedAccount({ credits: 20 });
    const id = await parkedJob(account, "Queued");
    expect((await balance(account.accountId)).credits).toBe(17);
    const res = await account.json(`/v1/convert/job/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      status: "Canceled",
      progress: { percent: 0, phase: null },
      metrics: { outputBytes: 0 },
      output: null,
      error: null,
    });
    expect(await balance(account.accountId)).toEqual({ credits: 20, ledgerSum: 20 });
    await env.JOBS_QUEUE.send({ type: "convert", jobId: id });
    await new Promise((r) => setTimeout(r, 300));
    expect((await account.json(`/v1/convert/job/${id}`)).body.status).toBe("Canceled");
  });

  it("cancels a Running job and discards the result that arrives afterwards", async () => {
    const account = await seedAccount({ credits: 20 });
    const id = await parkedJob(account, "Running");
    const res = await account.json(`/v1/convert/job/${id}/cancel`, { method: "POST" });
    expect(res.body.status).toBe("Canceled");
    // The consumer finishing late: the job is no longer Running, so the output is not attached.
    const attached = await completeJob(
      env.DB,
      id,
      1,
      {
        outputKey: "k",
        outputBytes: 1,
        outputPages: 1,
        inputPages: 1,
        outputFileName: "x.pdf",
        outputContentType: "application/pdf",
        outputFileCount: 1,
        outputExpiresAt: null,
      },
      Date.now(),
    );
    expect(attached).toBe(false);
    expect((await account.json(`/v1/convert/job/${id}`)).body).toMatchObject({ status: "Canceled", output: null });
    expect((await balance(account.accountId)).credits).toBe(20);
  });

  it("answers 409 for a finished job and refunds nothing more", async () => {
    const account = await seedAccount({ credits: 20 });
    const accepted = await submit(account, {
      file: { name: "a.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "txt",
    });
    await waitForJob(account, accepted.body.id);
    const res = await account.json(`/v1/convert/job/${accepted.body.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "jobs.already_finished", type: "conflict", status: "Succeeded" });
    expect((await balance(account.accountId)).credits).toBe(20 - accepted.body.creditCost);
    const twice = await seedAccount({ credits: 20 });
    const id = await parkedJob(twice, "Queued");
    expect((await twice.json(`/v1/convert/job/${id}/cancel`, { method: "POST" })).status).toBe(200);
    expect((await twice.json(`/v1/convert/job/${id}/cancel`, { method: "POST" })).status).toBe(409);
    expect(await balance(twice.accountId)).toEqual({ credits: 20, ledgerSum: 20 });
  });

  it("answers 404 for another account's job", async () => {
    const owner = await seedAccount();
    const stranger = await seedAccount();
    const id = await parkedJob(owner, "Queued");
    const res = await stranger.json(`/v1/convert/job/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(404);
    expect((await owner.json(`/v1/convert/job/${id}`)).body.status).toBe("Queued");
  });
});

describe("limits", () => {
  it("answers 429 with Retry-After past the plan's concurrent jobs, charging nothing", async () => {
    const account = await seedAccount({ plan: "free", credits: 100 });
    for (let i = 0; i < 10; i++) await parkedJob(account, "Queued", 1);
    const before = await balance(account.accountId);
    const res = await submit(account, {
      file: { name: "a.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "pdf",
    });
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ error: "limits.concurrent_jobs", type: "rate_limited", maxConcurrentJobs: 10 });
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await balance(account.accountId)).toEqual(before);
  });

  it("refuses an option the target does not take", async () => {
    const account = await seedAccount();
    const res = await submit(account, {
      file: { name: "a.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "pdf",
      sheet: "2",
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "convert.invalid_option", option: "sheet" });
  });

  it("takes ?sheet= as the sheet field, on single jobs and batches; a field that disagrees is 400", async () => {
    const account = await seedAccount({ credits: 50 });
    const book = () => ({ name: "book.ods", bytes: fixture("ods-many-sheets.ods") });
    const optionsOf = async (id: string) =>
      JSON.parse(
        (await env.DB.prepare("SELECT options FROM jobs WHERE id = ?1").bind(id).first<{ options: string }>())!.options,
      );
    const single = await account.json("/v1/convert?sheet=2", {
      method: "POST",
      body: form({ file: book(), targetFormat: "csv" }),
    });
    expect(single.status, JSON.stringify(single.body)).toBe(202);
    expect((await optionsOf(single.body.id)).sheet).toBe("2");
    const batch = await account.json("/v1/convert/batch?sheet=all", {
      method: "POST",
      body: form({ files: book(), targetFormat: "csv" }),
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(202);
    expect((await optionsOf(batch.body.jobs[0].id)).sheet).toBe("all");
    const json = await account.json(`/v1/convert?sheet=2`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        fileId: (await upload(account, "book.ods", book().bytes)).file_id,
        targetFormat: "csv",
        sheet: "2",
      }),
    });
    expect(json.status).toBe(202);
    const clash = await account.json("/v1/convert?sheet=2", {
      method: "POST",
      body: form({ file: book(), targetFormat: "csv", sheet: "1" }),
    });
    expect(clash.status).toBe(400);
    expect(clash.body).toMatchObject({ error: "request.invalid", type: "invalid_request", option: "sheet" });
    const done = await waitForJob(account, batch.body.jobs[0].id);
    expect(done.output).toMatchObject({ contentType: "application/zip" });
  });

  it("converts every page of an image target by default, pages=all being the same request", async () => {
    const account = await seedAccount({ credits: 50 });
    const { file_id } = await upload(account, "paper.pdf", fixture("pdf-raw-text.pdf"));
    const plain = await submit(
      account,
      { fileId: file_id, targetFormat: "png" },
      { "idempotency-key": "pages-default" },
    );
    const all = await submit(
      account,
      { fileId: file_id, targetFormat: "png", pages: "all" },
      { "idempotency-key": "pages-default" },
    );
    expect(all.status).toBe(202);
    expect(all.body.id).toBe(plain.body.id); // one request, spelled two ways
    expect((await waitForJob(account, plain.body.id)).output).toMatchObject({
      contentType: "application/zip",
      fileCount: 2,
    });
  });
});

describe("GET /v1/convert/jobs", () => {
  it("lists the key's jobs newest first with a cursor, filtered by status", async () => {
    const account = await seedAccount({ credits: 100 });
    const other = await seedAccount();
    await parkedJob(other, "Queued");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await parkedJob(account, "Queued", 1));
    await account.json(`/v1/convert/job/${ids[0]}/cancel`, { method: "POST" });
    const page1 = (await account.json("/v1/convert/jobs?limit=2")).body;
    expect(page1.data.map((j: any) => j.id)).toEqual([ids[4], ids[3]]);
    expect(page1.has_more).toBe(true);
    const page2 = (await account.json(`/v1/convert/jobs?limit=2&cursor=${page1.next_cursor}`)).body;
    expect(page2.data.map((j: any) => j.id)).toEqual([ids[2], ids[1]]);
    const page3 = (await account.json(`/v1/convert/jobs?limit=2&cursor=${page2.next_cursor}`)).body;
    expect(page3.data.map((j: any) => j.id)).toEqual([ids[0]]);
    expect(page3).toMatchObject({ has_more: false, next_cursor: null });
    const canceled = (await account.json("/v1/convert/jobs?status=Canceled")).body;
    expect(canceled.data.map((j: any) => j.id)).toEqual([ids[0]]);
    expect((await account.json("/v1/convert/jobs?status=Bogus")).status).toBe(400);
  });

  it("lists a batch's jobs, made in one millisecond, in the order they were submitted (newest first)", async () => {
    const account = await seedAccount({ credits: 100 });
    const files = [];
    for (let i = 0; i < 4; i++) files.push((await upload(account, "docx-header-footer.docx")).file_id);
    const batch = await account.json("/v1/convert/batch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fileIds: files, targetFormat: "txt" }),
    });
    expect(batch.status).toBe(202);
    const submitted: string[] = batch.body.jobs.map((j: any) => j.id);
    expect(batch.body.jobs.map((j: any) => j.fileId)).toEqual(files);
    const listed = (await account.json("/v1/convert/jobs?limit=10")).body.data.map((j: any) => j.id);
    expect(listed).toEqual([...submitted].reverse());
    for (const id of submitted) await waitForJob(account, id);
  });
});

describe("outputs", () => {
  it("zips a multi-page image output under <job>-<basename>-<n>-outputs.zip", async () => {
    const account = await seedAccount({ credits: 100 });
    // Two pages, so two images.
    const accepted = await submit(account, {
      file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "png",
      dpi: "50",
    });
    expect(accepted.status).toBe(202);
    const job = await waitForJob(account, accepted.body.id);
    expect(job.status, JSON.stringify(job.error)).toBe("Succeeded");
    expect(job.output.fileCount).toBe(2);
    expect(job.output.fileName).toBe("image.docx-to-png-report-2-outputs.zip");
    expect(job.output.contentType).toBe("application/zip");
    const res = await account.call(`/v1/convert/job/${job.id}/download`);
    expect(res.headers.get("content-disposition")).toContain(`filename="${job.output.fileName}"`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 4)]).toEqual([0x50, 0x4b, 0x03, 0x04]);
  });

  it("expires outputs: the cron sweeper deletes them and the job reports output: null", async () => {
    const account = await seedAccount({ credits: 100 });
    const accepted = await submit(account, {
      file: { name: "a.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "txt",
    });
    const job = await waitForJob(account, accepted.body.id);
    expect(job.output).not.toBeNull();
    const { output_key } = (await env.DB.prepare("SELECT output_key FROM jobs WHERE id = ?1")
      .bind(job.id)
      .first<{ output_key: string }>())!;
    await env.DB.prepare("UPDATE jobs SET output_expires_at = ?2 WHERE id = ?1")
      .bind(job.id, Date.now() - 1)
      .run();
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: new Date(), cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await env.BUCKET.head(output_key)).toBeNull();
    const after = (await account.json(`/v1/convert/job/${job.id}`)).body;
    expect(after).toMatchObject({ status: "Succeeded", output: null, download_url: null });
    const download = await account.json(`/v1/convert/job/${job.id}/download`);
    expect(download.status).toBe(410);
    expect(download.body.error).toBe("jobs.output_expired");
  });

  it("names the real phase while a job waits", async () => {
    const account = await seedAccount();
    const id = await parkedJob(account, "Queued");
    expect((await account.json(`/v1/convert/job/${id}`)).body.progress).toEqual({ percent: 0, phase: "queued" });
    const running = await parkedJob(account, "Running");
    expect((await account.json(`/v1/convert/job/${running}`)).body.progress.phase).toBe("converting");
  });

  it("stores the percent it answers: 0 while the job converts, 100 once it has Succeeded", async () => {
    const account = await seedAccount();
    const id = await parkedJob(account, "Queued", 1, { targetFormat: "txt" });
    const stored = async () =>
      (await env.DB.prepare("SELECT percent FROM jobs WHERE id = ?1").bind(id).first<number>("percent"))!;
    let whileConverting: { stored: number; answered: unknown } | undefined;
    // Read at the consumer's input read, after its claim.
    const watched = aroundBucket(env, "get", "uploads/", async (get) => {
      whileConverting = {
        stored: await stored(),
        answered: (await account.json(`/v1/convert/job/${id}`)).body.progress,
      };
      return get();
    });
    expect(await processJob(openServices(watched), id)).toEqual({ kind: "done" });
    expect(whileConverting).toEqual({ stored: 0, answered: { percent: 0, phase: "converting" } });
    expect(await stored()).toBe(100);
    expect((await account.json(`/v1/convert/job/${id}`)).body.progress).toEqual({ percent: 100, phase: null });
  });
});
