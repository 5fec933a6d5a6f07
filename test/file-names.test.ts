// File names: invisible characters (Unicode Cc, Cf, Cs, Zl, Zp) are removed from stored names, never kept,
// so Content-Disposition and output names cannot spoof an extension; names are NFC.
import { describe, expect, it } from "vitest";
import { sanitizeFileName, storedFileName } from "../src/domain/file-names";
import { contentDisposition } from "../src/storage/r2";
import { fixture, form, seedAccount, submit, waitForJob } from "./harness";

const BIDI = [
  "\u202a",
  "\u202b",
  "\u202c",
  "\u202d",
  "\u202e",
  "\u2066",
  "\u2067",
  "\u2068",
  "\u2069",
  "\u200e",
  "\u200f",
  "\u061c",
];
const ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u{e0041}"]; // the last: a tag character
const C0_C1 = [
  ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)),
  "\u007f",
  ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(0x80 + i)),
];
const SEPARATORS = ["\u2028", "\u2029"];

describe("sanitizeFileName", () => {
  it.each(
    [...BIDI, ...ZERO_WIDTH, ...C0_C1, ...SEPARATORS, "\ud800", "\udfff"].map((c) => [
      `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`,
      c,
    ]),
  )("removes %s", (_, c) => {
    expect(sanitizeFileName(`report${c}2026${c}.pdf`)).toBe("report2026.pdf");
  });

  it("leaves an extension that cannot be spoofed", () => {
    // Shown as "invoice" + "exe.pdf" reversed: "invoicefdp.exe" is what it really is.
    expect(sanitizeFileName("invoice\u202efdp.exe")).toBe("invoicefdp.exe");
    expect(sanitizeFileName("photo\u2067gpj.\u2069docx")).toBe("photogpj.docx");
  });

  it("names a file that is nothing but invisible characters `document`", () => {
    expect(sanitizeFileName("\u202e\u200b\u0007 \u2066")).toBe("document");
    expect(sanitizeFileName("")).toBe("document");
  });

  it("normalizes to NFC and keeps visible text of any script", () => {
    expect(sanitizeFileName("cafe\u0301.docx")).toBe("caf\u00e9.docx");
    expect(sanitizeFileName("\u1100\u1161.docx")).toBe("\uac00.docx");
    for (const name of ["отчёт 2026.docx", "报告.docx", "تقرير.docx", "📄 notes.docx", "a b (1).docx"])
      expect(sanitizeFileName(name)).toBe(name);
  });

  it("still refuses paths, . and .., and names over 255 characters", () => {
    for (const name of ["../x.docx", "a\\b.docx", ".", "..", `${"a".repeat(251)}.docx`]) {
      expect(() => storedFileName(name), name).toThrowError(
        expect.objectContaining({ code: "request.invalid_filename" }),
      );
    }
    // Measured after the invisible characters are gone.
    expect(storedFileName(`${"a".repeat(250)}${"\u200b".repeat(100)}.docx`)).toHaveLength(255);
  });

  it("keeps Content-Disposition free of them for names stored before, and of lone surrogates", () => {
    const header = contentDisposition("invoice\u202efdp.exe\ud800");
    expect(header).toBe(`attachment; filename="invoicefdp.exe"; filename*=UTF-8''invoicefdp.exe`);
  });
});

describe("uploads", () => {
  it("stores the name without bidi controls, and the job's output and download are named from it", async () => {
    const account = await seedAccount();
    const uploaded = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: "letter\u202excod.\u202cdocx", bytes: fixture("docx-header-footer.docx") } }),
    });
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    expect(uploaded.body.filename).toBe("letterxcod.docx");
    const accepted = await submit(account, { fileId: uploaded.body.file_id, targetFormat: "txt" });
    const job = await waitForJob(account, accepted.body.id);
    expect(job.output.fileName).toBe("letterxcod.txt");
    const res = await account.call(`/v1/convert/job/${job.id}/download`);
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="letterxcod.txt"; filename*=UTF-8''letterxcod.txt`,
    );
    expect(await res.text()).toContain("header");
  });

  it("removes control characters instead of refusing the file, and names an invisible name `document`", async () => {
    const account = await seedAccount();
    for (const [name, stored] of [
      ["report\u0007\u001b.docx", "report.docx"],
      ["\u202e\u200b", "document"],
      ["cafe\u0301.docx", "caf\u00e9.docx"],
    ]) {
      const res = await account.json("/v1/files", {
        method: "POST",
        body: form({ file: { name: name!, bytes: fixture("docx-header-footer.docx") } }),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.filename).toBe(stored);
    }
  });
});
