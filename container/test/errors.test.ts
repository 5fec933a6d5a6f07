// Bad inputs and bad requests: each gets its specific error code and status, and the bytes decide the format.
import { describe, expect, inject, test } from "vitest";
import { convert, expectedPages, fixture, getJson, isPdf, pdfPages } from "./helpers.ts";
import { TEST_SECRET } from "./server-process.ts";

describe.concurrent("inputs a converter must survive", () => {
  test("an encrypted document is convert.password_protected (422)", async () => {
    const res = await convert(fixture("hostile-password-protected.odt"), { to: "pdf" });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: "convert.password_protected" });
  });

  test("an encrypted PDF is convert.password_protected (422)", async () => {
    const res = await convert(fixture("hostile-password-protected.pdf"), { to: "png" });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: "convert.password_protected" });
  });

  test("a truncated docx is convert.corrupt_input (422)", async () => {
    const res = await convert(fixture("hostile-truncated.docx"), { to: "pdf", from: "docx" });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: "convert.corrupt_input" });
  });

  test("a BIFF file crafted to make readers allocate huge memory converts without harm", async () => {
    const res = await convert(fixture("hostile-oom-alloc.xls"), { to: "pdf" });
    expect(res.status).toBe(200);
    expect(isPdf(res.body)).toBe(true);
  });

  test("a docx with comments converts to pdf, txt and html (Writer builds its comment window from a .ui file)", async () => {
    // With Debian's -nogui packages (no module .ui files) this document aborted soffice on every attempt.
    const doc = fixture("docx-comments.docx");
    const [pdf, txt, html] = await Promise.all([
      convert(doc, { to: "pdf" }),
      convert(doc, { to: "txt" }),
      convert(doc, { to: "html" }),
    ]);
    expect(pdf.status, JSON.stringify(pdf.json)).toBe(200);
    expect(pdfPages(pdf.body)).toBe(expectedPages["docx-comments.docx"]);
    expect(txt.status, JSON.stringify(txt.json)).toBe(200);
    expect(txt.body.toString("utf8")).toContain("Some text worthy of note.");
    expect(html.status, JSON.stringify(html.json)).toBe(200);
    // The comments were loaded: Writer's HTML export keeps them as HTML comments.
    expect(html.body.toString("utf8")).toContain("<!-- Text with character style. -->");
  });

  test("a pptx with a missing relationship target still converts", async () => {
    const res = await convert(fixture("hostile-missing-rels-item.pptx"), { to: "pdf" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-output-pages")).toBe("1");
  });

  test("an empty body is convert.empty_input (400)", async () => {
    const res = await convert(Buffer.alloc(0), { to: "pdf", from: "docx" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "convert.empty_input" });
  });

  test("an image named .docx is refused as what it is", async () => {
    const res = await convert(fixture("hostile-image-named-as.docx"), {
      to: "pdf",
      from: "docx",
      filename: "report.docx",
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "convert.unsupported_format_pair", sourceFormat: "png" });
  });

  test("text named .xlsx is refused as the Worker refuses it (the extension counts only for text formats)", async () => {
    const res = await convert(fixture("hostile-text-named-as.xlsx"), { to: "pdf", from: "xlsx" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "convert.unsupported_format_pair", sourceFormat: "txt" });
    expect(res.json?.detail).toContain("named .xlsx");
  });

  test("an EPUB (LibreOffice has no EPUB import) is refused clearly, never sent to LibreOffice", async () => {
    const res = await convert(fixture("formats/epub-paragraphs-and-tables.epub"), { to: "pdf", filename: "book.epub" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "convert.unsupported_format_pair", sourceFormat: "epub" });
  });

  test("a malformed xlsb (calamine's panic case) converts to what LibreOffice reads of it, without harm", async () => {
    const res = await convert(fixture("hostile-panic.xlsb"), { to: "pdf" });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.headers.get("x-source-format")).toBe("xlsb");
  });

  test("bytes win over a contradicting `from`", async () => {
    const res = await convert(fixture("docx-header-footer.docx"), { to: "pdf", from: "xls" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-source-format")).toBe("docx");
  });

  test("without `from` or filename the format is detected from the bytes", async () => {
    for (const [file, source] of [
      ["ppt-notes.ppt", "ppt"],
      ["ods-many-sheets.ods", "ods"],
      ["rtf-raw-text.rtf", "rtf"],
    ]) {
      const res = await convert(fixture(file!), { to: "pdf" });
      expect(res.headers.get("x-source-format"), file).toBe(source);
    }
  });
});

describe.concurrent("bad requests", () => {
  test("an unsupported pair names the source, the target and what the source can become", async () => {
    const res = await convert(fixture("pptx-slides.pptx"), { to: "csv" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      error: "convert.unsupported_format_pair",
      sourceFormat: "pptx",
      targetFormat: "csv",
      supportedTargets: expect.arrayContaining(["pdf", "png", "odp"]),
    });
  });

  test("an unknown target is convert.unsupported_format_pair", async () => {
    const res = await convert(fixture("xlsx-simple.xlsx"), { to: "exe", from: "xlsx" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "convert.unsupported_format_pair", targetFormat: "exe" });
  });

  test("a missing target is convert.invalid_option", async () => {
    const res = await convert(fixture("xlsx-simple.xlsx"), {});
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "convert.invalid_option", option: "to" });
  });

  test("unknown routes and methods answer JSON errors", async () => {
    const url = inject("converterUrl");
    const headers = { "X-Converter-Secret": TEST_SECRET };
    const missing = await fetch(`${url}/nope`, { headers });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "convert.not_found" });
    const wrongMethod = await fetch(`${url}/convert`, { headers });
    expect(wrongMethod.status).toBe(405);
  });
});

describe("service endpoints", () => {
  test("GET /health reports instances and queue", async () => {
    const { status, body } = await getJson("/health");
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "ok", instances: { total: 2 }, queued: expect.any(Number) });
    expect(body.instances.ready).toBeGreaterThanOrEqual(1);
  });

  test("GET /formats publishes sources, targets and options", async () => {
    const { status, body } = await getJson("/formats");
    expect(status).toBe(200);
    expect(body.sources.docx).toMatchObject({ category: "documents", targets: expect.arrayContaining(["pdf"]) });
    expect(body.sources.pdf.category).toBe("documents");
    expect(body.sources.xlsx.category).toBe("spreadsheets");
    expect(body.sources.pptx.category).toBe("presentations");
    expect(body.targets.pdf).toMatchObject({ mediaType: "application/pdf", multiPage: true });
    expect(body.targets.png).toMatchObject({ mediaType: "image/png", multiPage: false });
    expect(Object.keys(body.options).sort()).toEqual([
      "dpi",
      "escapeFormulas",
      "pages",
      "pdfa",
      "quality",
      "sheet",
      "timeout",
    ]);
    expect(body.targets.csv.options).toEqual(["sheet", "escapeFormulas"]);
    expect(body.options.timeout).toMatchObject({ default: 120 });
  });
});
