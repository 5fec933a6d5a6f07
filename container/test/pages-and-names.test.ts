// maxPages: a document with more pages or slides than the caller paid for is refused (422
// convert.too_many_pages) before anything is exported, counted as LibreOffice's own export counts them. And the
// document keeps its uploader's name inside LibreOffice (Calc's page header prints it).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { workFileName } from "../src/conversion.ts";
import { convert, expectedPages, fixture, pdfPages } from "./helpers.ts";

const scratch = mkdtempSync(join(tmpdir(), "docconv-pages-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function pdfText(pdf: Buffer): string {
  const path = join(scratch, `t-${Math.random().toString(36).slice(2)}.pdf`);
  writeFileSync(path, pdf);
  return execFileSync("pdftotext", ["-layout", path, "-"], { encoding: "utf8" });
}

describe.concurrent("maxPages", () => {
  test.each([
    ["docx-header-footer.docx", "pdf"],
    ["pptx-raw-text.pptx", "pdf"],
    ["odp-placeholders.odp", "png"],
    ["ods-many-sheets.ods", "pdf"],
    ["csv-raw-text.csv", "pdf"],
    ["pdf-raw-text.pdf", "png"],
  ])("%s → %s: one page fewer than it has is refused, exactly its count converts", async (name, to) => {
    const pages = expectedPages[name]!;
    const refused = await convert(fixture(name), { to, maxPages: pages - 1, ...(to === "png" ? { dpi: 36 } : {}) });
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ error: "convert.too_many_pages", pages, maxPages: pages - 1 });
    const ok = await convert(fixture(name), { to, maxPages: pages, ...(to === "png" ? { dpi: 36 } : {}) });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    if (to === "pdf") expect(pdfPages(ok.body)).toBe(pages);
    else expect(Number(ok.headers.get("x-output-pages"))).toBe(pages);
  });

  test("maxPages must be a positive integer", async () => {
    for (const maxPages of ["0", "-1", "1.5", "x"]) {
      const res = await convert(fixture("docx-header-footer.docx"), { to: "pdf", maxPages });
      expect(res.json, maxPages).toMatchObject({ error: "convert.invalid_option", option: "maxPages" });
    }
  });
});

describe("the work file's name", () => {
  test("Calc's page header prints the uploaded name, as LibreOffice's CLI conversion of raw-text.csv does", async () => {
    const res = await convert(fixture("csv-raw-text.csv"), { to: "pdf", filename: "raw-text.csv" });
    expect(res.status).toBe(200);
    expect(pdfText(res.body).trim().split("\n")[0]!.trim()).toBe("raw-text");
  });

  test("the name is sanitised: no path, control or bidi characters, the proven extension, bounded length", async () => {
    expect(workFileName("raw-text.csv", "csv")).toBe("raw-text.csv");
    expect(workFileName("../../etc/passwd", "docx")).toBe("passwd.docx");
    expect(workFileName("C:\\Users\\x\\Report Q3.DOCX", "docx")).toBe("Report Q3.docx");
    expect(workFileName("invoice\u202Excod.pdf", "rtf")).toBe("invoice_xcod.rtf");
    expect(workFileName("a\u0000b\nc:d*e?.xlsx", "xlsx")).toBe("a_b_c_d_e_.xlsx");
    expect(workFileName("..hidden.odt", "odt")).toBe("hidden.odt");
    expect(workFileName(undefined, "pdf")).toBe("document.pdf");
    expect(workFileName("....", "pdf")).toBe("document.pdf");
    expect(workFileName("報告書.docx", "docx")).toBe("報告書.docx");
    expect(Buffer.byteLength(workFileName(`${"é".repeat(300)}.odt`, "odt"))).toBeLessThanOrEqual(204);
    const res = await convert(fixture("csv-raw-text.csv"), { to: "pdf", filename: "../Q3 \u202Eberi\u0001cht.csv" });
    expect(pdfText(res.body).trim().split("\n")[0]!.trim()).toBe("Q3 _beri_cht");
  });
});
