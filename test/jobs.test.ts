import { env } from "cloudflare:workers";
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { balance, fixture, pdfPageCount, seedAccount, submit, upload, waitForJob } from "./harness";

describe("POST /v1/convert → queue → converter → R2", () => {
  it("converts a docx to a real PDF and serves it through the job and a signed URL", async () => {
    const account = await seedAccount({ credits: 50 });
    const accepted = await submit(account, {
      file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "pdf",
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: "Queued" });
    expect(accepted.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(accepted.body.creditCost).toBeGreaterThan(0);
    expect((await balance(account.accountId)).credits).toBe(50 - accepted.body.creditCost);

    const job = await waitForJob(account, accepted.body.id);
    expect(job.status).toBe("Succeeded");
    expect(job.error).toBeNull();
    expect(job.progress).toEqual({ percent: 100, phase: null });
    expect(job.output).toEqual({ fileName: "report.pdf", contentType: "application/pdf", fileCount: 1 });
    expect(job.metrics.inputBytes).toBe(fixture("docx-header-footer.docx").length);
    expect(job.metrics.outputBytes).toBeGreaterThan(1000);
    expect(job.metrics.creditCost).toBe(accepted.body.creditCost);

    const download = await account.call(`/v1/convert/job/${job.id}/download`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-disposition")).toContain('filename="report.pdf"');
    const pdf = new Uint8Array(await download.arrayBuffer());
    expect(new TextDecoder().decode(pdf.slice(0, 5))).toBe("%PDF-");
    expect(pdfPageCount(pdf)).toBeGreaterThanOrEqual(1);
    expect(pdf.length).toBe(job.metrics.outputBytes);

    const signed = await fetchSigned(job.download_url);
    expect(signed.status).toBe(200);
    expect(new Uint8Array(await signed.arrayBuffer())).toEqual(pdf);
    expect((await balance(account.accountId)).credits).toBe(50 - accepted.body.creditCost);
  });

  it("converts an uploaded xlsx by fileId, and a pptx, to PDF", async () => {
    const account = await seedAccount();
    const xlsx = await upload(account, "xlsx-simple.xlsx");
    const pptx = await upload(account, "pptx-slides.pptx");
    const jobs = await Promise.all([
      submit(account, { fileId: xlsx.file_id, targetFormat: "pdf" }),
      submit(account, { fileId: pptx.file_id, targetFormat: "pdf" }),
    ]);
    for (const j of jobs) expect(j.status).toBe(202);
    const done = await Promise.all(jobs.map((j) => waitForJob(account, j.body.id)));
    for (const job of done) {
      expect(job.status, JSON.stringify(job.error)).toBe("Succeeded");
      expect(job.output.contentType).toBe("application/pdf");
    }
  });

  it("fails a document LibreOffice cannot read and refunds its credits", async () => {
    const account = await seedAccount({ credits: 40 });
    // A well-formed zip that claims to be a docx but whose main part is not XML.
    const bogus = zipSync({
      "[Content_Types].xml": strToU8(
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
      ),
      "_rels/.rels": strToU8(
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
      ),
      "word/document.xml": new Uint8Array(4096).map((_, i) => (i * 7919) % 251),
    });
    const accepted = await submit(account, { file: { name: "corrupt.docx", bytes: bogus }, targetFormat: "pdf" });
    expect(accepted.status).toBe(202);
    expect((await balance(account.accountId)).credits).toBe(40 - accepted.body.creditCost);
    const job = await waitForJob(account, accepted.body.id);
    expect(job.status).toBe("Failed");
    expect(job.output).toBeNull();
    expect(job.download_url).toBeNull();
    expect(job.error.code).toMatch(/^convert\.(corrupt_input|engine_failure)$|^upstream_error$/);
    expect(job.error.detail.length).toBeGreaterThan(0);
    const after = await balance(account.accountId);
    expect(after.credits).toBe(40);
    expect(after.ledgerSum).toBe(40);
  });

  it("fails a password-protected document with convert.password_protected and refunds", async () => {
    const account = await seedAccount({ credits: 30 });
    const accepted = await submit(account, {
      file: { name: "secret.odt", bytes: fixture("hostile-password-protected.odt") },
      targetFormat: "pdf",
    });
    expect(accepted.status).toBe(202);
    const job = await waitForJob(account, accepted.body.id);
    expect(job.status).toBe("Failed");
    expect(job.error.code).toBe("convert.password_protected");
    expect((await balance(account.accountId)).credits).toBe(30);
  });

  it("refuses an unsupported pair with the valid targets, charging nothing", async () => {
    const account = await seedAccount({ credits: 10 });
    const res = await submit(account, {
      file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "mp3",
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: "convert.unsupported_format_pair",
      type: "invalid_request",
      sourceFormat: "docx",
      targetFormat: "mp3",
    });
    expect(res.body.supportedTargets).toContain("pdf");
    expect(res.body.detail).toContain("pdf");
    expect((await balance(account.accountId)).credits).toBe(10);
    const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(jobs!.n).toBe(0);
  });

  it("does not convert or charge twice when the message is delivered again", async () => {
    const account = await seedAccount({ credits: 20 });
    const accepted = await submit(account, {
      file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "txt",
    });
    const job = await waitForJob(account, accepted.body.id);
    expect(job.status).toBe("Succeeded");
    const before = await env.DB.prepare("SELECT attempts, finished_at FROM jobs WHERE id = ?1")
      .bind(job.id)
      .first<{ attempts: number; finished_at: number }>();
    await env.JOBS_QUEUE.send({ type: "convert", jobId: job.id });
    await new Promise((r) => setTimeout(r, 500));
    const after = await env.DB.prepare("SELECT attempts, finished_at FROM jobs WHERE id = ?1")
      .bind(job.id)
      .first<{ attempts: number; finished_at: number }>();
    expect(after).toEqual(before);
    expect((await balance(account.accountId)).credits).toBe(20 - accepted.body.creditCost);
  });

  it("hides another account's job behind 404", async () => {
    const owner = await seedAccount();
    const stranger = await seedAccount();
    const accepted = await submit(owner, {
      file: { name: "a.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "txt",
    });
    for (const path of [`/v1/convert/job/${accepted.body.id}`, `/v1/convert/job/${accepted.body.id}/download`]) {
      const res = await stranger.json(path);
      expect(res.status).toBe(404);
      expect(res.body.error).toBe("jobs.not_found");
    }
    await waitForJob(owner, accepted.body.id);
  });
});

async function fetchSigned(url: string) {
  const { exports } = await import("cloudflare:workers");
  return exports.default.fetch(new Request(url));
}
