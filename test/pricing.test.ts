// Prices rest on what the server measures exactly at submission, and limits on what is real: per page only
// where the count comes from the file's structure, per megabyte elsewhere; the converter is told how many
// pages were paid for (maxPages) and its convert.too_many_pages fails the job for good, refunded.

import { env } from "cloudflare:workers";
import { strToU8, unzipSync, zipSync } from "fflate";
import { describe, expect, inject, it } from "vitest";
import { openServices } from "../src/domain/services";
import { MAX_CONVERSION_ATTEMPTS, processJob } from "../src/queue/consumer";
import { balance, fixture, form, parkedJob, seedAccount, submit, upload, waitForJob } from "./harness";

async function storedOptions(jobId: string): Promise<Record<string, unknown>> {
  const row = await env.DB.prepare("SELECT options FROM jobs WHERE id = ?1").bind(jobId).first<{ options: string }>();
  return JSON.parse(row!.options);
}

/** A well-formed PDF of `pages` empty pages: a page tree whose /Count and /Kids agree, and an xref table. */
function pdfWithPages(pages: number): Uint8Array {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    `<< /Type /Pages /Kids [${Array.from({ length: pages }, (_, i) => `${i + 3} 0 R`).join(" ")}] /Count ${pages} >>`,
    ...Array.from({ length: pages }, () => "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"),
  ];
  let text = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(text.length);
    text += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = text.length;
  text += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  text += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return strToU8(text);
}

describe("prices from exact counts", () => {
  it("charges a deck by its slides and a PDF by its pages, and tells the converter that many at most", async () => {
    const account = await seedAccount({ credits: 100 });
    const deck = await submit(account, {
      file: { name: "deck.pptx", bytes: fixture("pptx-raw-text.pptx") },
      targetFormat: "png",
    });
    expect(deck.body.creditCost).toBe(1); // 3 slides, 1 credit per 10 slides
    expect((await storedOptions(deck.body.id)).maxPages).toBe(3);
    const pdf = await submit(account, {
      file: { name: "paper.pdf", bytes: fixture("pdf-raw-text.pdf") },
      targetFormat: "jpg",
    });
    expect((await storedOptions(pdf.body.id)).maxPages).toBe(2);
    // The real converter converts them within those limits.
    expect((await waitForJob(account, deck.body.id)).status).toBe("Succeeded");
    expect((await waitForJob(account, pdf.body.id)).output.fileCount).toBe(2);
  });

  it("charges a docx by its size whatever its metadata claims, and gives it the plans' page limit", async () => {
    const account = await seedAccount({ credits: 100 });
    // docProps/app.xml is the uploader's word: this 2-page document claims 95.
    const entries = unzipSync(fixture("docx-header-footer.docx"));
    const app = new TextDecoder().decode(entries["docProps/app.xml"]!);
    entries["docProps/app.xml"] = strToU8(
      app.includes("<Pages>")
        ? app.replace(/<Pages>\d+<\/Pages>/, "<Pages>95</Pages>")
        : app.replace("</Properties>", "<Pages>95</Pages></Properties>"),
    );
    const liar = zipSync(entries);
    const res = await submit(account, { file: { name: "liar.docx", bytes: liar }, targetFormat: "pdf" });
    expect(res.status).toBe(202);
    expect(res.body.creditCost).toBe(1); // 18 KB at 1 credit per 5 MB
    expect((await storedOptions(res.body.id)).maxPages).toBe(2000);
    const row = await env.DB.prepare("SELECT input_pages FROM jobs WHERE id = ?1")
      .bind(res.body.id)
      .first<{ input_pages: number | null }>();
    expect(row!.input_pages).toBeNull();
    await waitForJob(account, res.body.id);
  });

  it("refuses a document past the page limit at submission, on both API families, charging nothing", async () => {
    const account = await seedAccount({ plan: "pro", credits: 300 });
    const big = pdfWithPages(2001);
    const res = await submit(account, { file: { name: "long.pdf", bytes: big }, targetFormat: "png" });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      error: "convert.too_many_pages",
      type: "unprocessable",
      pages: 2001,
      maxPages: 2000,
    });
    const file = await upload(account, "long.pdf", big);
    const rendition = await account.json(`/v1/files/${file.file_id}/convert`, {
      method: "POST",
      body: form({ format: "png" }),
    });
    expect(rendition.status).toBe(422);
    expect(rendition.body).toMatchObject({ error: "unprocessable", code: "convert.too_many_pages", pages: 2001 });
    expect(await balance(account.accountId)).toEqual({ credits: 300, ledgerSum: 300 });
    // The estimate refuses the same count the same way.
    const estimate = await account.json("/v1/convert/estimate/pdf/png?pages=2001");
    expect(estimate.status).toBe(422);
    expect(estimate.body).toEqual(res.body);
    // One page fewer is admitted and priced by its pages: 2000 pages at 1 per 10.
    const fits = await submit(account, {
      file: { name: "long.pdf", bytes: pdfWithPages(2000) },
      targetFormat: "png",
      pages: "1",
    });
    expect(fits.status).toBe(202);
    expect(fits.body.creditCost).toBe(200);
    expect((await account.json("/v1/convert/estimate/pdf/png?pages=2000")).body.creditCost).toBe(200);
    expect((await storedOptions(fits.body.id)).maxPages).toBe(2000);
    expect((await waitForJob(account, fits.body.id)).output).toMatchObject({ contentType: "image/png", fileCount: 1 });
  });
});

describe("page selections against an exact count", () => {
  it("refuses pages past a PDF's or a deck's counted end at submission, with the converter's own code, charging nothing", async () => {
    const account = await seedAccount({ credits: 100 });
    // pdf-raw-text.pdf has 2 pages, pptx-raw-text.pptx 3 slides.
    const pdf = await submit(account, {
      file: { name: "paper.pdf", bytes: fixture("pdf-raw-text.pdf") },
      targetFormat: "png",
      pages: "5",
    });
    expect(pdf.status).toBe(400);
    expect(pdf.body).toMatchObject({ error: "convert.invalid_option", option: "pages", pages: 2 });
    expect(pdf.body.detail).toContain("2 pages");
    const deck = await upload(account, "deck.pptx", fixture("pptx-raw-text.pptx"));
    const job = await account.json("/v1/convert", {
      method: "POST",
      body: JSON.stringify({ fileId: deck.file_id, targetFormat: "pdf", pages: "2-4" }),
      headers: { "content-type": "application/json" },
    });
    expect(job.status).toBe(400);
    expect(job.body).toMatchObject({ error: "convert.invalid_option", option: "pages", pages: 3 });
    expect(job.body.detail).toContain("3 slides");
    const rendition = await account.json(`/v1/files/${deck.file_id}/convert`, {
      method: "POST",
      body: form({ format: "png", pages: "4" }),
    });
    expect(rendition.status).toBe(400);
    expect(rendition.body).toMatchObject({ error: "invalid_request", code: "convert.invalid_option", option: "pages" });
    expect(await balance(account.accountId)).toEqual({ credits: 100, ledgerSum: 100 });
    const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1")
      .bind(account.accountId)
      .first<number>("n");
    expect(jobs).toBe(0);
    // The last page is in range.
    const last = await submit(account, {
      file: { name: "paper.pdf", bytes: fixture("pdf-raw-text.pdf") },
      targetFormat: "png",
      pages: "2",
    });
    expect(last.status).toBe(202);
    expect((await waitForJob(account, last.body.id)).output).toMatchObject({ contentType: "image/png", fileCount: 1 });
  });
});

describe("convert.too_many_pages from the converter", () => {
  it("fails the job at once with that code, refunded, without retrying; the maxPages sent is the one paid for", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJob(account, "Queued", 2);
    await env.DB.prepare("UPDATE jobs SET options = ?2 WHERE id = ?1")
      .bind(id, JSON.stringify({ maxPages: 12 }))
      .run();
    const faulty = { ...env, CONVERTER_URL: `http://127.0.0.1:${inject("fakeConverterPort")}/pages` } as Env;
    expect(await processJob(openServices(faulty), id)).toEqual({ kind: "done" });
    const row = await env.DB.prepare("SELECT status, attempts, error_code, error_detail FROM jobs WHERE id = ?1")
      .bind(id)
      .first<{ status: string; attempts: number; error_code: string; error_detail: string }>();
    expect(row).toMatchObject({ status: "Failed", attempts: 1, error_code: "convert.too_many_pages" });
    expect(row!.attempts).toBeLessThan(MAX_CONVERSION_ATTEMPTS);
    expect(row!.error_detail).toContain("maxPages=12");
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
    const job = (await account.json(`/v1/convert/job/${id}`)).body;
    expect(job).toMatchObject({
      status: "Failed",
      error: { code: "convert.too_many_pages" },
      metrics: { outputBytes: 0 },
    });
  });
});
