// Inputs a converter must survive: each gets a specific error in the envelope (or converts), no job is left
// running, and nothing is charged for work that failed.

import { env } from "cloudflare:workers";
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { laughsSvg } from "../container/test/hostile-builders";
import { balance, fixture, form, seedAccount, submit, waitForJob } from "./harness";

async function counts(accountId: string) {
  return env.DB.prepare(
    "SELECT (SELECT COUNT(*) FROM jobs WHERE account_id = ?1) AS jobs, (SELECT COUNT(*) FROM files WHERE account_id = ?1) AS files",
  )
    .bind(accountId)
    .first<{ jobs: number; files: number }>();
}

async function refusedAtUpload(name: string, bytes: Uint8Array, status: number, error: string) {
  const account = await seedAccount({ credits: 10 });
  const res = await submit(account, { file: { name, bytes }, targetFormat: "pdf" });
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toBe(error);
  expect(typeof res.body.detail).toBe("string");
  expect(await counts(account.accountId)).toEqual({ jobs: 0, files: 0 });
  expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  return res.body;
}

describe("refused before anything is stored or charged", () => {
  it("empty file → request.empty_file", () =>
    refusedAtUpload("zero-bytes.docx", new Uint8Array(), 400, "request.empty_file"));
  it("truncated OOXML zip → convert.corrupt_input", () =>
    refusedAtUpload("truncated.docx", fixture("hostile-truncated.docx"), 422, "convert.corrupt_input"));
  it("image named .docx → request.format_mismatch", () =>
    refusedAtUpload("image.docx", fixture("hostile-image-named-as.docx"), 415, "request.format_mismatch"));
  it("text named .xlsx → request.format_mismatch", () =>
    refusedAtUpload("t.xlsx", fixture("hostile-text-named-as.xlsx"), 415, "request.format_mismatch"));
  it("an EPUB (LibreOffice has no EPUB import) → request.unsupported_format", async () => {
    const body = await refusedAtUpload(
      "book.epub",
      fixture("formats/epub-paragraphs-and-tables.epub"),
      415,
      "request.unsupported_format",
    );
    expect(body.supportedFormats).toContain("xlsx");
  });
  it("unknown binary → request.unsupported_format", () =>
    refusedAtUpload(
      "mystery.bin",
      Uint8Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 256),
      415,
      "request.unsupported_format",
    ));

  it("zip bomb (a small docx inflating past the limits) → convert.zip_bomb", async () => {
    const bomb = zipSync(
      {
        "[Content_Types].xml": strToU8(
          '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        ),
        "word/document.xml": new Uint8Array(64 * 1024 * 1024),
      },
      { level: 9 },
    );
    expect(bomb.length).toBeLessThan(200 * 1024);
    const body = await refusedAtUpload("bomb.docx", bomb, 422, "convert.zip_bomb");
    expect(body.detail).toMatch(/inflates/);
  });

  it("billion laughs (a 520-byte SVG of nested entities that held a LibreOffice for 120 s) → convert.entity_expansion", async () => {
    const body = await refusedAtUpload("laughs.svg", laughsSvg(), 422, "convert.entity_expansion");
    expect(body).toMatchObject({ type: "unprocessable", detectedFormat: "svg" });
    expect(body.detail).toMatch(/expands past 65536 characters/);
    // /v1/files refuses it the same way (seed 000's vocabulary), and nothing reaches R2 from either.
    const account = await seedAccount({ credits: 10 });
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: "laughs.svg", bytes: laughsSvg() } }),
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: "unprocessable", code: "convert.entity_expansion" });
    expect(await counts(account.accountId)).toEqual({ jobs: 0, files: 0 });
    expect((await env.BUCKET.list({ prefix: `uploads/${account.accountId}/` })).objects).toHaveLength(0);
  });

  it.each([
    ["a path", "../../etc/passwd.docx"],
    ["a Windows path", "C:\\Users\\me\\report.docx"],
    ["300 characters", `${"a".repeat(295)}.docx`],
  ])("a filename with %s → request.invalid_filename", (_, name) =>
    refusedAtUpload(name, fixture("docx-header-footer.docx"), 400, "request.invalid_filename"),
  );

  it("an upload over the size limit → 413 request.too_large before the body is stored", async () => {
    const account = await seedAccount({ credits: 10 });
    const limit = Number(env.MAX_FILE_SIZE_BYTES);
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: "big.docx", bytes: new Uint8Array(limit + 128 * 1024) } }),
    });
    expect(res.status).toBe(413);
    // The body limit is middleware, before the route: it answers in the path's vocabulary all the same.
    expect(res.body).toMatchObject({ error: "payload_too_large", code: "request.too_large" });
    const job = await account.json("/v1/convert", {
      method: "POST",
      body: form({ targetFormat: "pdf", file: { name: "big.docx", bytes: new Uint8Array(limit + 128 * 1024) } }),
    });
    expect(job.status).toBe(413);
    expect(job.body).toMatchObject({ error: "request.too_large", type: "payload_too_large" });
    expect(await counts(account.accountId)).toEqual({ jobs: 0, files: 0 });
    const listed = await env.BUCKET.list({ prefix: `uploads/${account.accountId}/` });
    expect(listed.objects).toHaveLength(0);
  });
});

describe("reaching the converter", () => {
  it.each([
    ["hostile-dos.ods", "an ODS crafted to make a reader loop"],
    ["hostile-oom-alloc.xls", "a BIFF file crafted to allocate huge memory"],
    ["hostile-missing-rels-item.pptx", "a pptx with a missing relationship target"],
  ])(
    "%s (%s) ends Succeeded or Failed with a reason, never stuck, refunded on failure",
    async (name) => {
      const account = await seedAccount({ credits: 20 });
      const accepted = await submit(account, { file: { name, bytes: fixture(name) }, targetFormat: "pdf" });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      const job = await waitForJob(account, accepted.body.id, undefined, 150_000);
      expect(["Succeeded", "Failed"]).toContain(job.status);
      if (job.status === "Failed") {
        expect(job.error.code).toMatch(/^(convert\.[a-z_]+|upstream_error)$/);
        expect(job.error.detail.length).toBeGreaterThan(0);
        expect((await balance(account.accountId)).credits).toBe(20);
      } else {
        expect(job.output.contentType).toBe("application/pdf");
        expect((await balance(account.accountId)).credits).toBe(20 - accepted.body.creditCost);
      }
    },
    180_000,
  );
});
