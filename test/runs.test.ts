import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runOutputFileId } from "../src/db/renditions";
import type { JobStatus } from "../src/db/schema";
import { openServices } from "../src/domain/services";
import { uuidv7 } from "../src/ids";
import { sweep } from "../src/queue/sweeper";
import {
  balance,
  fixture,
  form,
  insertJobs,
  seedAccount,
  submit,
  type TestAccount,
  upload,
  waitForJob,
} from "./harness";

const exportRun = (account: TestAccount, runId: string, body: Record<string, unknown>) =>
  account.json(`/v1/runs/${runId}/export`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });

const download = (url: string) => exports.default.fetch(new Request(url));

async function jobsOf(accountId: string) {
  const rows = await env.DB.prepare(
    "SELECT id, kind, status, file_id, credit_cost FROM jobs WHERE account_id = ?1 ORDER BY id",
  )
    .bind(accountId)
    .all<{ id: string; kind: string; status: string; file_id: string; credit_cost: number }>();
  return rows.results;
}

/** A finished docx → odt job: the run the tests export. */
async function odtRun(account: TestAccount) {
  const accepted = await submit(account, {
    file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") },
    targetFormat: "odt",
  });
  expect(accepted.status).toBe(202);
  const job = await waitForJob(account, accepted.body.id);
  expect(job.status, JSON.stringify(job.error)).toBe("Succeeded");
  return job as { id: string; output: { fileName: string } };
}

/** A job row written directly, in a state the pipeline would not hold still for a test. */
async function insertRun(account: TestAccount, fields: { status: string; outputFileCount?: number }) {
  const file = await upload(account, "report.docx", fixture("docx-header-footer.docx"));
  const [id] = await insertJobs([
    {
      accountId: account.accountId,
      fileId: file.file_id,
      targetFormat: "png",
      status: fields.status as JobStatus,
      creditCost: 1,
      outputKey: `outputs/${account.accountId}/x.zip`,
      outputFileName: "x.zip",
      outputContentType: "application/zip",
      outputFileCount: fields.outputFileCount ?? null,
      outputBytes: 100,
    },
  ]);
  return id!;
}

describe("POST /v1/runs/{run_id}/export", () => {
  it("exports a docx → odt run as pdf by converting the odt, then serves the repeat from the cache for free", async () => {
    const account = await seedAccount({ credits: 100 });
    const run = await odtRun(account);
    const before = await balance(account.accountId);

    const res = await exportRun(account, run.id, { format: "pdf" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["download_url", "expires_at", "format"]);
    expect(res.body.format).toBe("pdf");
    expect(res.headers.get("x-rendition-cache")).toBe("miss");
    const jobs = await jobsOf(account.accountId);
    expect(jobs).toHaveLength(2);
    const exportJob = jobs.find((j) => j.kind === "rendition")!;
    const source = await env.DB.prepare("SELECT source_format, purpose, storage_key FROM files WHERE id = ?1")
      .bind(exportJob.file_id)
      .first();
    expect(source).toMatchObject({ source_format: "odt", purpose: "run-output" });
    const runRow = await env.DB.prepare("SELECT output_key FROM jobs WHERE id = ?1")
      .bind(run.id)
      .first<{ output_key: string }>();
    expect(source!.storage_key).toBe(runRow!.output_key);
    const afterMiss = await balance(account.accountId);
    expect(afterMiss.credits).toBe(before.credits - exportJob.credit_cost);

    const pdf = await download(res.body.download_url);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("content-disposition")).toContain('filename="report.pdf"');
    expect(new TextDecoder().decode(new Uint8Array(await pdf.arrayBuffer()).slice(0, 5))).toBe("%PDF-");

    const again = await exportRun(account, run.id, { format: "pdf" });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-rendition-cache")).toBe("hit");
    expect(await jobsOf(account.accountId)).toHaveLength(2);
    expect(await balance(account.accountId)).toEqual(afterMiss);
  });

  it("registers the run's output as a file once, however many formats it is exported to", async () => {
    const account = await seedAccount();
    const run = await odtRun(account);
    const [pdf, txt] = await Promise.all([
      exportRun(account, run.id, { format: "pdf" }),
      exportRun(account, run.id, { format: "txt" }),
    ]);
    expect(pdf.status).toBe(200);
    expect(txt.status).toBe(200);
    const files = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM files WHERE account_id = ?1 AND purpose = 'run-output'",
    )
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(files!.n).toBe(1);
  });

  it("registers a run's output with the converter's own count of it, and prices page-priced exports by that count", async () => {
    const account = await seedAccount({ credits: 100 });
    const runOf = async (name: string, targetFormat: string) => {
      const accepted = await submit(account, { file: { name, bytes: fixture(name) }, targetFormat });
      const job = await waitForJob(account, accepted.body.id);
      expect(job.status, JSON.stringify(job.error)).toBe("Succeeded");
      return job.id as string;
    };
    const registered = async (runId: string) =>
      env.DB.prepare("SELECT source_format AS format, pages FROM files WHERE id = ?1 AND purpose = 'run-output'")
        .bind(runOutputFileId(runId))
        .first<{ format: string; pages: number | null }>();
    // docx → pdf: the PDF's pages (X-Output-Pages, counted by the converter) — 2 for this document.
    const pdfRun = await runOf("docx-header-footer.docx", "pdf");
    const png = await exportRun(account, pdfRun, { format: "png", pages: "all" });
    expect(png.status, JSON.stringify(png.body)).toBe(200);
    expect(await registered(pdfRun)).toEqual({ format: "pdf", pages: 2 });
    const pngJob = (await jobsOf(account.accountId)).at(-1)!;
    expect(
      JSON.parse(
        (await env.DB.prepare("SELECT options FROM jobs WHERE id = ?1").bind(pngJob.id).first<{ options: string }>())!
          .options,
      ).maxPages,
    ).toBe(2);
    // odp → pptx: the saved deck's slides (9), as its sldIdLst holds them.
    const deckRun = await runOf("odp-placeholders.odp", "pptx");
    expect((await exportRun(account, deckRun, { format: "pdf" })).status).toBe(200);
    expect(await registered(deckRun)).toEqual({ format: "pptx", pages: 9 });
    // docx → odt: no exact count, none recorded (odt is priced by size).
    const odtRunId = (await odtRun(account)).id;
    expect((await exportRun(account, odtRunId, { format: "txt" })).status).toBe(200);
    expect(await registered(odtRunId)).toEqual({ format: "odt", pages: null });
  });

  it("shares one conversion between concurrent identical exports: one job, one charge", async () => {
    const account = await seedAccount({ credits: 100 });
    const run = await odtRun(account);
    const before = await balance(account.accountId);
    const results = await Promise.all([1, 2].map(() => exportRun(account, run.id, { format: "pdf" })));
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const renditions = (await jobsOf(account.accountId)).filter((j) => j.kind === "rendition");
    expect(renditions).toHaveLength(1);
    expect((await balance(account.accountId)).credits).toBe(before.credits - renditions[0]!.credit_cost);
  });

  it("answers 202 when told not to wait, and the cached export afterwards", async () => {
    const account = await seedAccount();
    const run = await odtRun(account);
    const res = await exportRun(account, run.id, { format: "pdf", wait: 0 });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "Queued", status_url: `/v1/convert/job/${res.body.job_id}` });
    expect((await waitForJob(account, res.body.job_id)).status).toBe("Succeeded");
    const later = await exportRun(account, run.id, { format: "pdf" });
    expect(later.status).toBe(200);
    expect(later.headers.get("x-rendition-cache")).toBe("hit");
  });

  it("answers 409 runs.not_succeeded for a Queued run", async () => {
    const account = await seedAccount({ credits: 10 });
    const runId = await insertRun(account, { status: "Queued" });
    const res = await exportRun(account, runId, { format: "pdf" });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "conflict", code: "runs.not_succeeded", status: "Queued" });
    expect((await balance(account.accountId)).credits).toBe(10);
  });

  it("answers 404 runs.not_found for a missing run, a non-job id and another account's run, exported or not", async () => {
    const owner = await seedAccount();
    const stranger = await seedAccount();
    const run = await odtRun(owner);
    for (const id of [uuidv7(), "not-a-run", run.id]) {
      const res = await exportRun(stranger, id, { format: "pdf" });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: "not_found", code: "runs.not_found" });
    }
    expect((await exportRun(owner, run.id, { format: "pdf" })).status).toBe(200);
    const afterCache = await exportRun(stranger, run.id, { format: "pdf" });
    expect(afterCache.status).toBe(404);
    expect(await jobsOf(stranger.accountId)).toHaveLength(0);
  });

  it("refuses a multi-file (ZIP) output with 400 runs.multi_file_output", async () => {
    const account = await seedAccount();
    const runId = await insertRun(account, { status: "Succeeded", outputFileCount: 3 });
    const res = await exportRun(account, runId, { format: "pdf" });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "invalid_request", code: "runs.multi_file_output", fileCount: 3 });
  });

  it("refuses an output the matrix does not take as a source with 400 convert.unsupported_format_pair", async () => {
    const account = await seedAccount();
    // EPUB: LibreOffice writes it, and cannot read it back.
    const accepted = await submit(account, {
      file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "epub",
    });
    expect((await waitForJob(account, accepted.body.id)).status).toBe("Succeeded");
    const res = await exportRun(account, accepted.body.id, { format: "pdf" });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: "invalid_request",
      code: "convert.unsupported_format_pair",
      sourceFormat: "epub",
      supportedTargets: [],
    });
  });

  it("refuses a target the run's output cannot become, listing the valid ones", async () => {
    const account = await seedAccount();
    const run = await odtRun(account);
    const res = await exportRun(account, run.id, { format: "xlsx" });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: "invalid_request",
      code: "convert.unsupported_format_pair",
      sourceFormat: "odt",
      targetFormat: "xlsx",
    });
    expect(res.body.supportedTargets).toContain("pdf");
  });

  it("answers 410 runs.output_expired when the run's output is gone", async () => {
    const account = await seedAccount();
    const run = await odtRun(account);
    await env.DB.prepare("UPDATE jobs SET output_key = NULL WHERE id = ?1").bind(run.id).run();
    const res = await exportRun(account, run.id, { format: "pdf" });
    expect(res.status).toBe(410);
    expect(res.body.code).toBe("runs.output_expired");
  });

  it("refuses the run's output file once the run's output has expired, everywhere, with 410 runs.output_expired and nothing charged", async () => {
    const account = await seedAccount({ credits: 100 });
    const run = await odtRun(account);
    expect((await exportRun(account, run.id, { format: "pdf" })).status).toBe(200);
    const fileId = runOutputFileId(run.id);
    // The run's output expires and the sweeper deletes it.
    await env.DB.prepare("UPDATE jobs SET output_expires_at = ?2 WHERE id = ?1")
      .bind(run.id, Date.now() - 1)
      .run();
    expect((await sweep(openServices(env))).expired).toBeGreaterThanOrEqual(1);
    const before = { balance: await balance(account.accountId), jobs: (await jobsOf(account.accountId)).length };

    const rendition = await account.json(`/v1/files/${fileId}/convert`, {
      method: "POST",
      body: form({ format: "txt" }),
    });
    expect(rendition.status).toBe(410);
    expect(rendition.body).toMatchObject({
      error: "gone",
      code: "runs.output_expired",
      status_url: `/v1/convert/job/${run.id}`,
    });
    const exported = await exportRun(account, run.id, { format: "txt" });
    expect(exported.status).toBe(410);
    expect(exported.body.code).toBe("runs.output_expired");
    const job = await account.json("/v1/convert", {
      method: "POST",
      body: JSON.stringify({ fileId, targetFormat: "txt" }),
      headers: { "content-type": "application/json" },
    });
    expect(job.status).toBe(410);
    expect(job.body).toMatchObject({ error: "runs.output_expired", type: "gone" });
    const batch = await account.json("/v1/convert/batch", {
      method: "POST",
      body: JSON.stringify({ fileIds: [fileId], targetFormat: "txt" }),
      headers: { "content-type": "application/json" },
    });
    expect(batch.status).toBe(410);
    expect(batch.body.error).toBe("runs.output_expired");

    expect(await balance(account.accountId)).toEqual(before.balance);
    expect(await jobsOf(account.accountId)).toHaveLength(before.jobs);
  });

  it("fails a conversion whose run output vanished after admission with 410 runs.output_expired, refunded, not 502", async () => {
    const account = await seedAccount({ credits: 100 });
    const run = await odtRun(account);
    expect((await exportRun(account, run.id, { format: "pdf" })).status).toBe(200);
    const before = await balance(account.accountId);
    // The object goes while the run's row still says it is stored: as when the sweeper deletes it between
    // admission and conversion.
    const { output_key } = (await env.DB.prepare("SELECT output_key FROM jobs WHERE id = ?1")
      .bind(run.id)
      .first<{ output_key: string }>())!;
    await env.BUCKET.delete(output_key);

    const res = await account.json(`/v1/files/${runOutputFileId(run.id)}/convert`, {
      method: "POST",
      body: form({ format: "txt" }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(410);
    expect(res.body).toMatchObject({ error: "gone", code: "runs.output_expired" });
    const failed = (await jobsOf(account.accountId)).find((j) => j.id === res.body.job_id)!;
    expect(failed.status).toBe("Failed");
    const status = (await account.json(`/v1/convert/job/${failed.id}`)).body;
    expect(status.error.code).toBe("runs.output_expired");
    expect(await balance(account.accountId)).toEqual(before);
  });

  it("takes JSON only and validates it", async () => {
    const account = await seedAccount();
    const run = await odtRun(account);
    const noFormat = await exportRun(account, run.id, {});
    expect(noFormat.status).toBe(400);
    expect(noFormat.body.code).toBe("request.invalid");
    const badOption = await exportRun(account, run.id, { format: "pdf", dpi: 150 });
    expect(badOption.status).toBe(400);
    expect(badOption.body.code).toBe("convert.invalid_option");
  });
});
