// Each LibreOffice family of the format table (issue 14) converts to each of its targets with a content check,
// on sources beyond the original twelve: Draw (Visio, pictures, metafiles), Writer through forced filters
// (HTML, .oth, master documents, text in any charset, Word 2003 XML), Calc's text imports, Impress from a
// metafile. Macros never run. Every fixture's PDF against LibreOffice's CLI is the proof suite's.
import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { sources } from "../src/formats.ts";
import {
  binaryContains,
  type Converted,
  checkPng,
  convert,
  csvRows,
  fixture,
  isJpeg,
  isPdf,
  pdfPages,
  pdfText,
  unzip,
} from "./helpers.ts";

const ok = (res: Converted) => expect(res.status, res.json ? JSON.stringify(res.json) : "").toBe(200);
const flat = (text: string) => text.replace(/<[^>]+>/g, "").replace(/\s+/g, " ");

function pdfPageSize(pdf: Buffer): { width: number; height: number } {
  const info = execFileSync("pdfinfo", ["-"], { input: pdf }).toString();
  const [, w, h] = /Page size:\s+([\d.]+) x ([\d.]+) pts/.exec(info)!;
  return { width: Number(w), height: Number(h) };
}

/** A JPEG's dimensions from its first start-of-frame segment. */
function jpegSize(jpg: Buffer): { width: number; height: number } {
  let p = 2;
  while (p + 9 < jpg.length) {
    const marker = jpg[p + 1]!;
    const length = jpg.readUInt16BE(p + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: jpg.readUInt16BE(p + 5), width: jpg.readUInt16BE(p + 7) };
    }
    p += 2 + length;
  }
  throw new Error("no SOF segment");
}

test("each family's targets are the issue's, and every source takes its family's", () => {
  const byFamily = { writer: "odt", calc: "ods", impress: "odp", draw: "odg" } as const;
  expect(sources[byFamily.writer].targets).toEqual(["pdf", "docx", "doc", "rtf", "txt", "html", "epub", "png", "jpg"]);
  expect(sources.fodt.targets).toEqual(["pdf", "docx", "doc", "odt", "rtf", "txt", "html", "epub", "png", "jpg"]);
  expect(sources.fods.targets).toEqual(["pdf", "xlsx", "xls", "ods", "csv", "html", "png", "jpg"]);
  expect(sources.fodp.targets).toEqual(["pdf", "pptx", "ppt", "odp", "png", "jpg", "svg"]);
  expect(sources.fodg.targets).toEqual(["pdf", "png", "jpg", "svg", "odg"]);
  expect(sources.pdf.targets).toEqual(["png", "jpg"]);
  for (const format of Object.values(sources)) expect(format.targets.length).toBeGreaterThan(1);
});

describe.concurrent("Draw: a Visio drawing to each drawing target", () => {
  const vsdx = fixture("formats/vsdx-visio.vsdx");
  const text = "This is a test";

  test("pdf", async () => {
    const res = await convert(vsdx, { to: "pdf", filename: "flow.vsdx" });
    ok(res);
    expect(pdfPages(res.body)).toBe(1);
    expect(pdfText(res.body)).toContain(text);
  });

  test("png and jpg: the page rendered at the asked resolution", async () => {
    const pdf = await convert(vsdx, { to: "pdf" });
    const { width, height } = pdfPageSize(pdf.body);
    const png = await convert(vsdx, { to: "png", dpi: 72 });
    ok(png);
    const size = checkPng(png.body);
    expect(Math.abs(size.width - width)).toBeLessThanOrEqual(1);
    expect(Math.abs(size.height - height)).toBeLessThanOrEqual(1);
    const jpg = await convert(vsdx, { to: "jpg", dpi: 72, quality: 50 });
    ok(jpg);
    expect(isJpeg(jpg.body)).toBe(true);
    expect(jpegSize(jpg.body).width).toBe(size.width);
  });

  test("svg: one page with its text as text, no script", async () => {
    const res = await convert(vsdx, { to: "svg" });
    ok(res);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    const svg = res.body.toString("utf8");
    expect(svg).toContain("<svg");
    expect(flat(svg)).toContain(text);
    expect(svg).not.toMatch(/<script/i);
  });

  test("odg: an OpenDocument drawing holding the text", async () => {
    const res = await convert(vsdx, { to: "odg" });
    ok(res);
    const entries = unzip(res.body);
    expect(entries.get("mimetype")?.toString()).toBe("application/vnd.oasis.opendocument.graphics");
    expect(flat(entries.get("content.xml")!.toString("utf8"))).toContain(text);
  });
});

describe.concurrent("pictures open in Draw on a page of their own size", () => {
  // 425 × 550 pixels without a resolution: 96 dpi, i.e. 318.75 × 412.5 pt.
  const png = fixture("formats/png-raw-text.png");

  test("png → pdf: one page the picture's size", async () => {
    const res = await convert(png, { to: "pdf", filename: "scan.png" });
    ok(res);
    const size = pdfPageSize(res.body);
    expect(size.width).toBeCloseTo(318.75, 0);
    expect(size.height).toBeCloseTo(412.5, 0);
  });

  test("png → jpg at 96 dpi has the picture's own pixels", async () => {
    const res = await convert(png, { to: "jpg", dpi: 96 });
    ok(res);
    const { width, height } = jpegSize(res.body);
    expect(Math.abs(width - 425)).toBeLessThanOrEqual(1);
    expect(Math.abs(height - 550)).toBeLessThanOrEqual(1);
  });

  test("a TIFF whose resolution is implausible (0.1 dpi) is sized by its pixels, not 97 metres tall", async () => {
    const res = await convert(fixture("formats/tif-raw-text.tif"), { to: "pdf" });
    ok(res);
    expect(pdfPageSize(res.body).width).toBeCloseTo(318.75, 0);
  });

  test("png → svg embeds the picture; png → odg is a drawing", async () => {
    const svg = await convert(png, { to: "svg" });
    ok(svg);
    expect(svg.body.toString("utf8")).toMatch(/<image[^>]+(xlink:)?href="data:image\//);
    const odg = await convert(png, { to: "odg" });
    ok(odg);
    expect(unzip(odg.body).get("mimetype")?.toString()).toBe("application/vnd.oasis.opendocument.graphics");
  });

  test("a metafile (EMF) renders with its text", async () => {
    const res = await convert(fixture("formats/emf-raw-text.emf"), { to: "pdf" });
    ok(res);
    expect(pdfText(res.body)).toContain("I love word documents");
  });
});

describe.concurrent("Impress: from a metafile and a slide show, with SVG per slide", () => {
  test("cgm (opened in Impress) → pptx: one slide", async () => {
    const res = await convert(fixture("formats/cgm-plotutils.cgm"), { to: "pptx", filename: "plot.cgm" });
    ok(res);
    const presentation = unzip(res.body).get("ppt/presentation.xml")!.toString("utf8");
    expect(presentation.match(/<p:sldId\b/g)).toHaveLength(1);
  });

  test("ppsx → svg with pages=2: the second slide alone, with its text", async () => {
    const all = await convert(fixture("formats/ppsx-slideshow.ppsx"), { to: "svg" });
    ok(all);
    expect([...unzip(all.body).keys()]).toEqual(["page-001.svg", "page-002.svg", "page-003.svg"]);
    const second = await convert(fixture("formats/ppsx-slideshow.ppsx"), { to: "svg", pages: "2" });
    ok(second);
    expect(second.headers.get("content-type")).toBe("image/svg+xml");
    expect(second.body.equals(unzip(all.body).get("page-002.svg")!)).toBe(true);
  });

  test("pages past the end are refused for SVG as for images", async () => {
    const res = await convert(fixture("formats/ppsx-slideshow.ppsx"), { to: "svg", pages: "9" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "convert.invalid_option", option: "pages" });
  });
});

describe.concurrent("Writer through the filters it must be given", () => {
  test("HTML opens in Writer (not Writer/Web): one page, the first paragraph kept, docx holds it", async () => {
    const html = fixture("formats/html-paragraphs-and-tables.html");
    const pdf = await convert(html, { to: "pdf", filename: "page.html" });
    ok(pdf);
    expect(pdfPages(pdf.body)).toBe(1);
    expect(pdfText(pdf.body)).toContain("paragraph before the table");
    const docx = await convert(html, { to: "docx" });
    ok(docx);
    expect(flat(unzip(docx.body).get("word/document.xml")!.toString("utf8"))).toContain("paragraph before the table");
  });

  test("an .oth (text-web template) and a master document (.odm) convert as Writer documents", async () => {
    for (const path of ["formats/oth-paragraphs-and-tables.oth", "formats/odm-paragraphs-and-tables.odm"]) {
      const res = await convert(fixture(path), { to: "rtf" });
      ok(res);
      expect(res.body.toString("latin1")).toContain("paragraph before the table");
    }
  });

  test("text in Windows-1252 keeps its accents (the charset is read from the bytes)", async () => {
    const text = Buffer.from("Caf\xe9 cr\xe8me br\xfbl\xe9e\r\nsecond line\r\n", "latin1");
    const res = await convert(text, { to: "pdf", filename: "menu.txt" });
    ok(res);
    expect(pdfText(res.body)).toContain("Café crème brûlée");
  });

  test("txt → epub: the text in the book, titled with the upload's name", async () => {
    const res = await convert(fixture("formats/txt-paragraphs-and-tables.txt"), {
      to: "epub",
      filename: "Annual report.txt",
    });
    ok(res);
    const entries = unzip(res.body);
    expect(entries.get("OEBPS/content.opf")!.toString("utf8")).toContain("<dc:title>Annual report</dc:title>");
    const xhtml = [...entries]
      .filter(([n]) => n.endsWith(".xhtml"))
      .map(([, b]) => flat(b.toString("utf8")))
      .join(" ");
    expect(xhtml).toContain("paragraph before the table");
  });

  test("Word 2003 XML → odt holds the text", async () => {
    const res = await convert(fixture("formats/xml-word2003.xml"), { to: "odt", filename: "w.xml" });
    ok(res);
    expect(flat(unzip(res.body).get("content.xml")!.toString("utf8"))).toContain("R1 c1");
  });
});

describe.concurrent("Calc's text and legacy imports", () => {
  test.each([
    ["formats/dif-inventory-table.dif", "inventory.dif"],
    ["formats/slk-inventory-table.slk", "inventory.slk"],
    ["formats/tsv-inventory-table.tsv", "inventory.tsv"],
    ["formats/wk4-lotus.wk4", "sheet.wk4"],
  ])("%s → csv has its rows", async (path, filename) => {
    const res = await convert(fixture(path), { to: "csv", filename });
    ok(res);
    const rows = csvRows(res.body.toString("utf8"));
    expect(rows.length).toBeGreaterThan(1);
    if (path.includes("inventory")) expect(rows).toEqual(expect.arrayContaining([expect.stringContaining("Banana")]));
  });

  test("an Excel 2003 XML workbook → xls holds the cells", async () => {
    const res = await convert(fixture("formats/xml-excel2003-inventory-table.xml"), {
      to: "xls",
      filename: "book.xml",
    });
    ok(res);
    expect(binaryContains(res.body, "Banana")).toBe(true);
  });
});

describe.concurrent("macros never run", () => {
  // With macros allowed, its OnLoad Basic macro prepends "MACRO RAN ON LOAD." to the text.
  const hostile = fixture("formats/odt-macro-on-load.odt");

  test.each(["pdf", "txt", "docx"])(
    "odt-macro-on-load.odt → %s has the document's text and not the macro's",
    async (to) => {
      const res = await convert(hostile, { to });
      ok(res);
      const text =
        to === "pdf"
          ? pdfText(res.body)
          : to === "txt"
            ? res.body.toString("utf8")
            : flat(unzip(res.body).get("word/document.xml")!.toString("utf8"));
      expect(text).toContain("paragraph before the table");
      expect(text).not.toContain("MACRO RAN");
    },
  );

  test.each([
    ["formats/docm-macros.docm", "The quick brown fox"],
    ["formats/xlsm-macros.xlsm", "a macro is about to be created"],
    ["formats/pptm-macros.pptm", "The quick"],
  ])("%s converts with its VBA project left alone", async (path, probe) => {
    const res = await convert(fixture(path), { to: "pdf" });
    ok(res);
    expect(isPdf(res.body)).toBe(true);
    expect(pdfText(res.body).replace(/\s+/g, " ")).toContain(probe);
  });
});
