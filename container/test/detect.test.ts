// The one detector (container/src/detect/), on the real fixtures and on crafted files: formats, exact page and
// slide counts from structure (checked against poppler's pdfinfo where it can judge), refusals, and bounded
// work on hostile inputs (bytes read and inflated, never timing).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { strToU8, unzipSync, type Zippable, zipSync } from "fflate";
import { afterAll, describe, expect, test } from "vitest";
import { bytesSource, type Detection, detect, extensionDecided } from "../src/detect/index.ts";
import { ChildCounter } from "../src/detect/xml.ts";
import { csvImportOptions } from "../src/engine/csv-import.ts";
import { ConvertError } from "../src/errors.ts";
import { type SourceName, sources } from "../src/formats.ts";
import { inspectInput, smallInflater } from "../src/inspect.ts";
import { fixture } from "./helpers.ts";
import { buildPdf, type PdfPlan } from "./pdf-builder.ts";

const scratch = mkdtempSync(join(tmpdir(), "docconv-detect-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, content: Uint8Array | string): string {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

const anything = () => true;
const run = (bytes: Uint8Array, name?: string, accept?: (f: string) => boolean): Promise<Detection> =>
  detect(bytesSource(bytes), { name, accept });

function pdfinfoPages(bytes: Uint8Array): { pages: number; stderr: string } {
  const path = file(`p-${Math.random().toString(36).slice(2)}.pdf`, bytes);
  try {
    const out = execFileSync("pdfinfo", [path], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    return { pages: Number(/Pages:\s+(\d+)/.exec(out)?.[1]), stderr: "" };
  } catch (error) {
    return { pages: NaN, stderr: String((error as { stderr?: Buffer }).stderr) };
  }
}

const CT = "http://schemas.openxmlformats.org/package/2006/content-types";
const REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";
function ooxml(mainType: string, mainPart: string, main: string, extra: Zippable = {}): Uint8Array {
  return zipSync({
    "[Content_Types].xml": strToU8(
      `<?xml version="1.0"?><Types xmlns="${CT}"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/${mainPart}" ContentType="${mainType}"/></Types>`,
    ),
    "_rels/.rels": strToU8(
      `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}" Target="${mainPart}"/></Relationships>`,
    ),
    [mainPart]: strToU8(main),
    ...extra,
  });
}
const PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml";
const slides = (n: number) =>
  `<p:presentation xmlns:p="p"><p:sldMasterIdLst><p:sldMasterId id="1"/></p:sldMasterIdLst><p:sldIdLst>${Array.from({ length: n }, (_, i) => `<p:sldId id="${256 + i}" r:id="rId${i + 2}"/>`).join("")}</p:sldIdLst><p:notesSz cx="1" cy="1"/></p:presentation>`;
const appXml = (tag: string, n: number) => strToU8(`<Properties><${tag}>${n}</${tag}></Properties>`);

function odf(mimetype: string, content: string, extra: Zippable = {}): Uint8Array {
  return zipSync({
    mimetype: [strToU8(mimetype), { level: 0 }],
    "content.xml": strToU8(content),
    "META-INF/manifest.xml": strToU8(
      `<manifest:manifest xmlns:manifest="m"><manifest:file-entry manifest:full-path="/" manifest:media-type="${mimetype}"/></manifest:manifest>`,
    ),
    ...extra,
  });
}
const odpContent = (n: number) =>
  `<office:document-content xmlns:office="o" xmlns:draw="d"><office:body><office:presentation>${Array.from({ length: n }, (_, i) => `<draw:page draw:name="p${i}"><draw:frame><draw:text-box><text:p>slide ${i}</text:p></draw:text-box></draw:frame></draw:page>`).join("")}<!-- <draw:page/> --><![CDATA[<draw:page/>]]></office:presentation></office:body></office:document-content>`;

/** A minimal OLE2 file with 512-byte sectors: FAT in sector 0, the directory along `directorySectors`. */
function compoundFile(streams: string[], directorySectors = [1], junk = ""): Uint8Array {
  const sectors = Math.max(...directorySectors) + 1 + (junk ? 1 : 0);
  const out = Buffer.alloc(512 * (sectors + 1));
  Buffer.from("d0cf11e0a1b11ae1", "hex").copy(out);
  out.writeUInt16LE(0x3e, 0x18);
  out.writeUInt16LE(3, 0x1a);
  out.writeUInt16LE(0xfffe, 0x1c);
  out.writeUInt16LE(9, 0x1e);
  out.writeUInt16LE(6, 0x20);
  out.writeUInt32LE(1, 0x2c);
  out.writeUInt32LE(directorySectors[0]!, 0x30);
  out.writeUInt32LE(4096, 0x38);
  out.writeUInt32LE(0xfffffffe, 0x3c);
  out.writeUInt32LE(0xfffffffe, 0x44);
  out.fill(0xff, 0x4c, 512);
  out.writeUInt32LE(0, 0x4c);
  const fat = 512;
  out.fill(0xff, fat, fat + 512);
  out.writeUInt32LE(0xfffffffd, fat);
  directorySectors.forEach((s, i) => out.writeUInt32LE(directorySectors[i + 1] ?? 0xfffffffe, fat + s * 4));
  const names = ["Root Entry", ...streams];
  names.forEach((name, i) => {
    const sector = directorySectors[Math.floor(i / 4)]!;
    const at = 512 * (sector + 1) + (i % 4) * 128;
    out.write(`${name}\0`, at, "utf16le");
    out.writeUInt16LE((name.length + 1) * 2, at + 0x40);
    out[at + 0x42] = i === 0 ? 5 : 2;
    out.writeUInt32LE(0xffffffff, at + 0x44);
    // the root's child is entry 1; each entry's right sibling is the next
    out.writeUInt32LE(i === 0 || i === names.length - 1 ? 0xffffffff : i + 1, at + 0x48);
    out.writeUInt32LE(i === 0 ? 1 : 0xffffffff, at + 0x4c);
  });
  if (junk) out.write(junk, 512 * sectors, "utf16le");
  return out;
}

describe("formats and counts of the fixtures", () => {
  test.each([
    ["docx-header-footer.docx", "docx", null],
    ["docx-comments.docx", "docx", null],
    ["doc-standardized-text.doc", "doc", null],
    ["odt-raw-text.odt", "odt", null],
    ["rtf-raw-text.rtf", "rtf", null],
    ["pdf-raw-text.pdf", "pdf", 2],
    ["xlsx-many-sheets.xlsx", "xlsx", null],
    ["xls-many-sheets.xls", "xls", null],
    ["ods-many-sheets.ods", "ods", null],
    ["csv-raw-text.csv", "csv", null],
    ["pptx-raw-text.pptx", "pptx", 3],
    ["pptx-slides.pptx", "pptx", 1],
    ["ppt-notes.ppt", "ppt", null],
    ["odp-placeholders.odp", "odp", 9],
    ["hostile-password-protected.pdf", "pdf", 2],
    ["hostile-missing-rels-item.pptx", "pptx", 1],
  ])("%s is %s with pages %s", async (name, format, pages) => {
    expect(await run(fixture(name), name)).toMatchObject({ ok: true, format, pages });
  });

  test("an encrypted ODF package is its format, marked encrypted", async () => {
    expect(await run(fixture("hostile-password-protected.odt"), "secret.odt")).toMatchObject({
      ok: true,
      format: "odt",
      encrypted: true,
    });
  });

  test.each([
    ["hostile-truncated.docx", "corrupt"],
    ["hostile-image-named-as.docx", "mismatch"],
    ["hostile-text-named-as.xlsx", "mismatch"],
  ])("%s is refused: %s", async (name, reason) => {
    expect(await run(fixture(name), name)).toMatchObject({ ok: false, reason });
  });

  test("an empty file is refused as empty", async () => {
    expect(await run(new Uint8Array(), "a.docx")).toMatchObject({ ok: false, reason: "empty" });
  });

  test("the PDF fixtures' counts are what poppler counts", async () => {
    for (const name of ["pdf-raw-text.pdf", "hostile-password-protected.pdf"]) {
      const detection = await run(fixture(name));
      expect(detection.ok && detection.pages).toBe(name.includes("password") ? 2 : pdfinfoPages(fixture(name)).pages);
    }
  });
});

describe("PDF page tree", () => {
  test.each<[string, PdfPlan, number]>([
    ["a classic xref table", { pages: 3 }, 3],
    ["an xref stream", { pages: 5, xrefStream: true }, 5],
    ["an xref stream with a PNG predictor", { pages: 7, xrefStream: true, predictor: true }, 7],
    ["the page tree inside an object stream", { pages: 4, xrefStream: true, predictor: true, objectStreams: true }, 4],
    ["junk before the header", { pages: 2, junkBefore: "garbage before the header\n" }, 2],
    ["an incremental update (table over table)", { pages: 3, update: { pages: 6 } }, 6],
    ["an incremental update (stream over table)", { pages: 3, update: { pages: 5, xrefStream: true } }, 5],
    [
      "an incremental update over object streams",
      { pages: 3, xrefStream: true, objectStreams: true, update: { pages: 8, xrefStream: true } },
      8,
    ],
    [
      "/Count behind a reference inside an object stream",
      { pages: 9, indirectCount: true, xrefStream: true, objectStreams: true },
      9,
    ],
  ])("%s", async (_, plan, pages) => {
    const pdf = buildPdf(plan);
    expect(pdfinfoPages(pdf)).toEqual({ pages, stderr: "" });
    expect(await run(pdf, "x.pdf")).toMatchObject({ ok: true, format: "pdf", pages });
  });

  test("a PDF without a readable page tree is refused as corrupt, not guessed", async () => {
    const noTrailer = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Pages /Count 7 >> endobj\n%%EOF\n");
    expect(await run(noTrailer)).toMatchObject({
      ok: false,
      reason: "corrupt",
      detail: expect.stringContaining("startxref"),
    });
    const pdf = buildPdf({ pages: 2 });
    const broken = Buffer.from(pdf.toString("latin1").replace(/startxref\n\d+/, "startxref\n9"), "latin1");
    expect(await run(broken)).toMatchObject({ ok: false, reason: "corrupt" });
  });

  test("a /Prev loop and a /Count that refers to itself end, refused", async () => {
    const text = buildPdf({ pages: 2 }).toString("latin1");
    const at = text.lastIndexOf("startxref\n") + 10;
    const offset = Number(text.slice(at, text.indexOf("\n", at)));
    const looped = Buffer.from(text.replace("/Root 1 0 R", `/Root 1 0 R /Prev ${offset}`), "latin1");
    expect(await run(looped)).toMatchObject({ ok: true, pages: 2 });
    const selfCount = Buffer.from(text.replace("/Count 2", "/Count 2 0 R"), "latin1");
    expect(await run(selfCount)).toMatchObject({ ok: false, reason: "corrupt" });
  });

  test("a crafted 200 KB PDF (issue 12: 1.08 s in the old page-count pattern) costs a bounded read", async () => {
    // Thousands of "/Type /Pages" with no ">>" and no /Count: the old backtracking pattern went quadratic.
    const body = "/Type /Pages ".repeat(16_000);
    const crafted = Buffer.from(`%PDF-1.4\n1 0 obj\n<< ${body}\n`, "latin1");
    expect(crafted.length).toBeGreaterThan(200_000);
    const detection = await run(crafted);
    expect(detection).toMatchObject({ ok: false, reason: "corrupt" });
    // The head (8 KiB) and the tail (16 KiB, where startxref must be), in 64 KiB blocks: at most three of
    // them, however long the file is.
    expect(detection.work.read).toBeLessThanOrEqual(3 * 64 * 1024);
    // The same bytes as the page tree's own object, reached through a valid xref: one bounded window.
    const text = buildPdf({ pages: 1 }).toString("latin1").replace("/Type /Pages", `/Type /Pages ${body}`);
    const fixed = Buffer.from(text, "latin1");
    const fixedXref = Buffer.from(fixXref(fixed.toString("latin1")), "latin1");
    const deep = await run(fixedXref);
    expect(deep).toMatchObject({ ok: true, pages: 1 });
    expect(deep.work.read).toBeLessThanOrEqual(fixedXref.length + 64 * 1024);
  });

  test("an encrypted PDF whose page tree is in (encrypted) object streams is refused as password protected", async () => {
    const text = buildPdf({ pages: 2, xrefStream: true, objectStreams: true })
      .toString("latin1")
      .replace("/Root 1 0 R", "/Root 1 0 R /Encrypt 99 0 R");
    expect(await run(Buffer.from(text, "latin1"))).toMatchObject({ ok: false, reason: "password_protected" });
  });
});

/** Rewrites a single-section classic xref after edits moved the objects. */
function fixXref(text: string): string {
  const body = text.slice(0, text.indexOf("xref\n"));
  const offsets: number[] = [];
  const re = /(\d+) 0 obj\n/g;
  for (let m = re.exec(body); m; m = re.exec(body)) offsets[Number(m[1])] = m.index;
  let xref = `xref\n0 ${offsets.length}\n0000000000 65535 f \n`;
  for (let i = 1; i < offsets.length; i++)
    xref += `${String(offsets[i] ?? 0).padStart(10, "0")} 00000 ${offsets[i] === undefined ? "f" : "n"} \n`;
  return `${body}${xref}trailer\n<< /Size ${offsets.length} /Root 1 0 R >>\nstartxref\n${body.length}\n%%EOF\n`;
}

describe("slides from the package, never from metadata", () => {
  test("a pptx whose docProps/app.xml claims 95 slides has the slides its sldIdLst lists", async () => {
    const pptx = ooxml(PPTX, "ppt/presentation.xml", slides(4), { "docProps/app.xml": appXml("Slides", 95) });
    expect(await run(pptx, "deck.pptx")).toMatchObject({ ok: true, format: "pptx", pages: 4 });
  });

  test("a 1-page docx whose app.xml claims 95 pages has no page count (Word documents are never counted)", async () => {
    const docx = ooxml(
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
      "word/document.xml",
      "<w:document/>",
      { "docProps/app.xml": appXml("Pages", 95) },
    );
    expect(await run(docx, "one.docx")).toMatchObject({ ok: true, format: "docx", pages: null });
  });

  test("an odp's slides are the draw:page elements of content.xml, not meta.xml's count", async () => {
    const odp = odf("application/vnd.oasis.opendocument.presentation", odpContent(12), {
      "meta.xml": strToU8('<meta:document-statistic meta:page-count="95"/>'),
    });
    expect(await run(odp, "deck.odp")).toMatchObject({ ok: true, format: "odp", pages: 12 });
  });

  test("a presentation without the part that lists its slides is refused as corrupt", async () => {
    const pptx = zipSync({
      "[Content_Types].xml": strToU8(
        `<Types xmlns="${CT}"><Override PartName="/ppt/presentation.xml" ContentType="${PPTX}"/></Types>`,
      ),
      "ppt/slides/slide1.xml": strToU8("<p:sld/>"),
    });
    expect(await run(pptx, "deck.pptx")).toMatchObject({ ok: false, reason: "corrupt" });
  });

  test("an encrypted odp cannot be counted: refused as password protected", async () => {
    const odp = zipSync({
      mimetype: strToU8("application/vnd.oasis.opendocument.presentation"),
      "content.xml": new Uint8Array(64).fill(7),
      "META-INF/manifest.xml": strToU8(
        '<manifest:manifest><manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/></manifest:file-entry></manifest:manifest>',
      ),
    });
    expect(await run(odp, "deck.odp")).toMatchObject({ ok: false, reason: "password_protected" });
  });

  test("the slide counter reads the same count however the bytes are chunked, and ignores comments and CDATA", () => {
    const xml = new TextEncoder().encode(odpContent(5));
    const whole = new ChildCounter("presentation", "page");
    whole.write(xml);
    const bytewise = new ChildCounter("presentation", "page");
    for (let i = 0; i < xml.length; i++) bytewise.write(xml.subarray(i, i + 1));
    expect([whole.count, bytewise.count]).toEqual([5, 5]);
  });
});

describe("every package variant by its own declaration", () => {
  test.each([
    ["application/vnd.oasis.opendocument.text-template", "ott"],
    ["application/vnd.oasis.opendocument.text-web", "oth"],
    ["application/vnd.oasis.opendocument.text-master", "odm"],
    ["application/vnd.oasis.opendocument.spreadsheet-template", "ots"],
    ["application/vnd.oasis.opendocument.graphics", "odg"],
    ["application/vnd.oasis.opendocument.graphics-template", "otg"],
  ])("ODF %s is %s", async (mimetype, format) => {
    expect(await run(odf(mimetype, "<office:document-content/>"), `x.${format}`, anything)).toMatchObject({
      ok: true,
      format,
    });
    // The bytes decide within one LibreOffice module, whatever the name (odm named .odt)…
    if (format === "odm" || format === "ott" || format === "oth")
      expect(await run(odf(mimetype, "<office:document-content/>"), "x.odt")).toMatchObject({ ok: true, format });
  });

  test("an ODF presentation template counts its slides too", async () => {
    expect(
      await run(odf("application/vnd.oasis.opendocument.presentation-template", odpContent(3)), "t.otp", anything),
    ).toMatchObject({ ok: true, format: "otp", pages: 3 });
  });

  test("an ODF package without a mimetype entry is known by its manifest", async () => {
    const zip = zipSync({
      "content.xml": strToU8("<x/>"),
      "META-INF/manifest.xml": strToU8(
        '<manifest:manifest><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
      ),
    });
    expect(await run(zip, "x.ods")).toMatchObject({ ok: true, format: "ods" });
  });

  test.each([
    ["application/vnd.ms-word.document.macroEnabled.main+xml", "word/document.xml", "docm", null],
    [
      "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
      "word/document.xml",
      "dotx",
      null,
    ],
    ["application/vnd.ms-excel.sheet.macroEnabled.main+xml", "xl/workbook.xml", "xlsm", null],
    ["application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml", "xl/workbook.xml", "xltx", null],
    ["application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml", "ppt/presentation.xml", "pptm", 2],
    [
      "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
      "ppt/presentation.xml",
      "ppsx",
      2,
    ],
    [
      "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
      "ppt/presentation.xml",
      "potx",
      2,
    ],
  ])("OOXML %s is %s", async (type, part, format, pages) => {
    expect(await run(ooxml(type, part, slides(2)), "x.bin", anything)).toMatchObject({ ok: true, format, pages });
  });

  test("a zip that is no office package is refused as unsupported", async () => {
    expect(await run(zipSync({ "readme.txt": strToU8("hello") }), "a.zip")).toMatchObject({
      ok: false,
      reason: "unsupported",
      detected: "zip",
    });
  });
});

describe("OLE2 compound files: the directory, walked along its FAT chain", () => {
  test.each([
    [["WordDocument", "1Table"], "doc"],
    [["Workbook"], "xls"],
    [["Book"], "xls"],
    [["PowerPoint Document", "Current User"], "ppt"],
  ])("%j is %s", async (streams, format) => {
    expect(await run(compoundFile(streams), "x.bin")).toMatchObject({ ok: true, format });
  });

  test("a directory spread over non-adjacent sectors is followed through the FAT", async () => {
    // Five entries need two directory sectors; the second is sector 3, reached only through the FAT.
    const cfb = compoundFile(["1Table", "SummaryInformation", "CompObj", "WordDocument"], [1, 3]);
    expect(await run(cfb)).toMatchObject({ ok: true, format: "doc" });
  });

  test("a stream name that appears only in the file's data does not count", async () => {
    const cfb = compoundFile(["Something"], [1], "WordDocument\0");
    expect(await run(cfb)).toMatchObject({ ok: false, reason: "unsupported", detected: "ole2" });
  });

  test("a directory chain that loops is refused as corrupt, not followed for ever", async () => {
    const cfb = Buffer.from(compoundFile(["WordDocument"]));
    cfb.writeUInt32LE(1, 512 + 4); // sector 1's successor is itself
    expect(await run(cfb)).toMatchObject({ ok: false, reason: "corrupt" });
  });

  test("encrypted OOXML: its kind from the name; a deck cannot be counted; no name, no kind", async () => {
    const cfb = compoundFile(["EncryptionInfo", "EncryptedPackage"]);
    expect(await run(cfb, "secret.docx")).toMatchObject({ ok: true, format: "docx", encrypted: true });
    expect(await run(cfb, "secret.pptx")).toMatchObject({ ok: false, reason: "password_protected" });
    expect(await run(cfb, "secret.bin")).toMatchObject({ ok: false, reason: "password_protected" });
  });
});

describe("text: the extension decides, and only for text", () => {
  test.each([
    ["a;b\n1;2\n", "data.csv", "csv"],
    ["a;b\n1;2\n", "data.tsv", "csv"],
    ["hello world\n", "notes.txt", "txt"],
    ["a,b,c\n1,2,3\n4,5,6\n", undefined, "csv"],
    ["Dear reader,\nthis is prose, with commas, here and there\n", undefined, "txt"],
    ["BMW,Audi\n1,2\n", "cars.csv", "csv"], // "BM" is a weak BMP signature: it needs the .bmp name
  ])("%j named %s is %s", async (text, name, format) => {
    expect(await run(new TextEncoder().encode(text), name, anything)).toMatchObject({ ok: true, format });
  });

  test("text named as a format with a signature is a mismatch, even when it looks like CSV", async () => {
    expect(await run(new TextEncoder().encode("a,b\n1,2\n"), "sheet.xlsx")).toMatchObject({
      ok: false,
      reason: "mismatch",
      detected: "txt",
    });
  });

  test("UTF-16 text with a byte-order mark is text", async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a;b\r\n1;2\r\n", "utf16le")]);
    expect(await run(utf16, "x.csv")).toMatchObject({ ok: true, format: "csv" });
  });

  test("unrecognised binary is refused whatever its name", async () => {
    expect(await run(Uint8Array.from([1, 2, 3, 0, 0, 0, 200, 201]), "x.doc")).toMatchObject({
      ok: false,
      reason: "unsupported",
    });
  });
});

describe("zip bombs", () => {
  const bombDocx = () =>
    zipSync(
      {
        "[Content_Types].xml": strToU8(`<Types xmlns="${CT}"/>`),
        "word/document.xml": new Uint8Array(64 * 1024 * 1024),
      },
      { level: 9 },
    );

  test("declared sizes past the ratio are refused from the central directory alone", async () => {
    const detection = await run(bombDocx(), "bomb.docx");
    expect(detection).toMatchObject({ ok: false, reason: "zip_bomb", detail: expect.stringContaining("inflates") });
    expect(detection.work.inflated).toBe(0);
  });

  test("an archive that lies about its sizes passes the declared check, and inflating with a counter stops it at the cap", async () => {
    const zip = Buffer.from(bombDocx());
    // Declare 1000 bytes for the 64 MiB entry, in the central directory and the local header.
    for (let p = 0; p + 4 <= zip.length; p++) {
      const sig = zip.readUInt32LE(p);
      if (
        sig === 0x02014b50 &&
        zip.toString("latin1", p + 46, p + 46 + zip.readUInt16LE(p + 28)) === "word/document.xml"
      )
        zip.writeUInt32LE(1000, p + 24);
      if (
        sig === 0x04034b50 &&
        zip.toString("latin1", p + 30, p + 30 + zip.readUInt16LE(p + 26)) === "word/document.xml"
      )
        zip.writeUInt32LE(1000, p + 22);
    }
    expect(await run(zip, "liar.docx")).toMatchObject({ ok: true, format: "docx" });
    const detection = await detect(bytesSource(zip), { name: "liar.docx", inflateAll: true });
    expect(detection).toMatchObject({ ok: false, reason: "zip_bomb" });
    // Stopped at the cap (200× the file's size, at least 10 MiB), not at the 64 MiB the entry really holds.
    expect(detection.work.inflated).toBeLessThanOrEqual(Math.max(10 * 1024 * 1024, 200 * zip.length) + 64 * 1024);
    expect(detection.work.inflated).toBeLessThan(64 * 1024 * 1024);
    await expect(inspectInput(file("liar.docx", zip), "docx")).rejects.toMatchObject({ code: "convert.zip_bomb" });
  });

  test("entries that overlap one another (one compressed kernel, many names) are refused", async () => {
    // 50 × 100 KiB declared stays under every size limit: only the overlap gives it away.
    const kernel = deflateRawSync(Buffer.alloc(100 * 1024));
    const names = Array.from({ length: 50 }, (_, i) => `word/part${i}.xml`);
    const local = Buffer.alloc(30 + 9);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(kernel.length, 18);
    local.writeUInt32LE(100 * 1024, 22);
    local.writeUInt16LE(9, 26);
    local.write("word/k.xm", 30, "latin1");
    const central = names.map((name) => {
      const e = Buffer.alloc(46 + name.length);
      e.writeUInt32LE(0x02014b50, 0);
      e.writeUInt16LE(8, 10);
      e.writeUInt32LE(kernel.length, 20);
      e.writeUInt32LE(100 * 1024, 24);
      e.writeUInt16LE(name.length, 28);
      e.write(name, 46, "latin1");
      return e; // every entry points at offset 0
    });
    const dir = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(names.length, 8);
    end.writeUInt16LE(names.length, 10);
    end.writeUInt32LE(dir.length, 12);
    end.writeUInt32LE(local.length + kernel.length, 16);
    const zip = Buffer.concat([local, kernel, dir, end]);
    expect(await run(zip, "x.docx")).toMatchObject({
      ok: false,
      reason: "zip_bomb",
      detail: expect.stringContaining("overlap"),
    });
  });

  test("a small zip whose _rels/.rels is built to make a backtracking pattern quadratic costs bounded work", async () => {
    // issue 12: 1.5 s of CPU in the old `_rels/.rels` pattern. The relationships part inflates to 6 MB of
    // `officeDocument" ` with no '>'; the detector reads at most 1 MiB of it, once, linearly.
    const rels = strToU8(`<Relationships><Relationship Type="x/officeDocument" ${'officeDocument" '.repeat(400_000)}`);
    const zip = zipSync(
      { "[Content_Types].xml": strToU8(`<Types xmlns="${CT}"/>`), "_rels/.rels": rels },
      { level: 9 },
    );
    expect(zip.length).toBeLessThan(16_000);
    const detection = await run(zip, "x.docx");
    expect(detection).toMatchObject({ ok: false, reason: "mismatch", detected: "zip" });
    expect(detection.work.inflated).toBeLessThanOrEqual(1024 * 1024 + 4096);
  });
});

describe("the converter's view: inspectInput", () => {
  test("small parts inflated in memory (zlib) are counted and stopped exactly as streaming counts and stops them", async () => {
    const docx = unzipSync(new Uint8Array(fixture("docx-header-footer.docx")));
    const plain = new Uint8Array(fixture("docx-header-footer.docx"));
    const streamed = await detect(bytesSource(plain), { name: "a.docx", inflateAll: true });
    expect(streamed).toMatchObject({ ok: true, format: "docx" });
    expect(
      await detect(bytesSource(plain), { name: "a.docx", inflateAll: true, inflateSmall: smallInflater() }),
    ).toEqual(streamed);
    // 60 parts of 1 MiB of zeros, ~1 KiB each compressed: 60 MiB from a ~70 KiB file, past the cap (at most 200×
    // the file's size, at least 10 MiB) though every part alone is small.
    const parts: Zippable = { ...docx };
    for (let i = 0; i < 60; i++) parts[`word/media/zero${i}.bin`] = new Uint8Array(1024 * 1024);
    const bomb = zipSync(parts, { level: 9 });
    const stopped = await detect(bytesSource(bomb), { name: "a.docx", inflateAll: true });
    expect(stopped).toMatchObject({ ok: false, reason: "zip_bomb" });
    expect(
      await detect(bytesSource(bomb), { name: "a.docx", inflateAll: true, inflateSmall: smallInflater() }),
    ).toEqual(stopped);
    await expect(inspectInput(file("zeros.docx", bomb), "docx")).rejects.toMatchObject({ code: "convert.zip_bomb" });
  });

  test("maps refusals to the converter's codes", async () => {
    await expect(inspectInput(file("e.docx", ""), "docx")).rejects.toMatchObject({ code: "convert.empty_input" });
    await expect(inspectInput(file("t.docx", fixture("hostile-truncated.docx")), "docx")).rejects.toMatchObject({
      code: "convert.corrupt_input",
    });
    await expect(inspectInput(file("i.docx", fixture("hostile-image-named-as.docx")), "docx")).rejects.toMatchObject({
      code: "convert.unsupported_format_pair",
      context: { sourceFormat: "png" },
    });
    const encrypted = inspectInput(file("s.odt", fixture("hostile-password-protected.odt")), "odt");
    await expect(encrypted).rejects.toBeInstanceOf(ConvertError);
    await expect(encrypted).rejects.toMatchObject({ code: "convert.password_protected" });
  });

  test("text is converted as the text format the declared source names, refused under another", async () => {
    expect(await inspectInput(file("a", "a;b\n1;2\n"), "csv")).toEqual({ source: "csv", pages: null });
    await expect(inspectInput(file("b", "a;b\n1;2\n"), "xlsx")).rejects.toMatchObject({
      code: "convert.unsupported_format_pair",
    });
  });
});

describe("csvImportOptions", () => {
  test("picks the separator that splits the lines consistently", async () => {
    expect(await csvImportOptions(file("semi.csv", "a;b;c\n1;2,5;3\n4;5;6\n"))).toBe("59,34,76,1");
    expect(await csvImportOptions(file("tab.csv", "a\tb\n1\t2\n"))).toBe("9,34,76,1");
    expect(await csvImportOptions(file("comma.csv", 'a,"b;c",d\n1,2,3\n'))).toBe("44,34,76,1");
  });

  test("falls back to Windows-1252 when the bytes are not UTF-8, and reads UTF-16 by its mark", async () => {
    expect(await csvImportOptions(file("latin.csv", Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2c, 0x31, 0x0a])))).toBe(
      "44,34,1,1",
    );
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a;b\r\n1;2\r\n", "utf16le")]);
    expect(await csvImportOptions(file("u16.csv", utf16))).toBe("59,34,65535,1");
  });
});

describe("every format of the table (issue 14): its fixture, and a minimal header where no sample exists", () => {
  const tsv = readFileSync(new URL("../../test/fixtures/formats/formats.tsv", import.meta.url), "utf8")
    .trim()
    .split("\n");
  const columns = tsv[0]!.split("\t");
  const rows = tsv
    .slice(1)
    .map((line) => Object.fromEntries(line.split("\t").map((v, i) => [columns[i]!, v])) as Record<string, string>);
  const converting = rows.filter((r) => r.status === "converts" && r.fixture !== "none");

  test.each(converting.map((r) => [r.extension!, r.fixture!]))(
    "a .%s (%s) is a source that goes by that name",
    async (ext, path) => {
      const found = await run(fixture(path), `upload.${ext}`);
      expect(found.ok, JSON.stringify(found)).toBe(true);
      const format = (found as { format: SourceName }).format;
      // The StarOffice 6 template sample's manifest says writer, not writer.template: the bytes decide.
      expect(sources[format].extensions, format).toContain(ext === "stw" ? "sxw" : ext);
      // Content beats the name: without one, the same format, except where only the name can tell.
      const decided = extensionDecided();
      if (!decided.includes(ext)) expect(await run(fixture(path))).toMatchObject({ ok: true, format });
    },
  );

  test("StarImpress and StarDraw 5 share a stream: the root entry's class id tells them apart, whatever the name", async () => {
    for (const name of [undefined, "x.vor", "x.sda"]) {
      expect(await run(fixture("formats/vor-staroffice52-impress.vor"), name)).toMatchObject({
        ok: true,
        format: "sdd",
      });
      expect(await run(fixture("formats/sdd-staroffice52.sdd"), name)).toMatchObject({ ok: true, format: "sdd" });
    }
    expect(await run(fixture("formats/vor-staroffice52-draw.vor"))).toMatchObject({ ok: true, format: "sda" });
    expect(await run(fixture("formats/sda-staroffice52.sda"), "x.sdd")).toMatchObject({ ok: true, format: "sda" });
  });

  test("every table source whose format has a row is converts or detected-only there, and the reverse", () => {
    const listed = new Set(
      rows.filter((r) => r.status === "converts" || r.status === "detected-only").map((r) => r.extension!),
    );
    const named = new Set(Object.values(sources).flatMap((s) => s.extensions));
    expect([...named].filter((ext) => !listed.has(ext))).toEqual([]);
    expect([...listed].filter((ext) => !named.has(ext))).toEqual([]);
  });

  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
  const at = (offset: number, ...parts: (string | number[])[]) =>
    Buffer.concat([Buffer.alloc(offset), bytes(...parts), Buffer.alloc(64)]);
  const manifestOnly = (mediaType: string) =>
    zipSync({
      "content.xml": strToU8("<office:document-content/>"),
      "META-INF/manifest.xml": strToU8(
        `<manifest:manifest><manifest:file-entry manifest:full-path="/" manifest:media-type="${mediaType}"/></manifest:manifest>`,
      ),
    });

  test.each([
    ["602", "x.602", bytes("@CT 0\r\nHello from T602\r\n")],
    ["cdr", "x.cdr", bytes("RIFF", [0x10, 0, 0, 0], "CDRDvrsn", Buffer.alloc(32).toString("latin1"))],
    ["cdr", "x.cdr", zipSync({ "content/riffData.cdr": strToU8("RIFF") })],
    ["cmx", "x.cmx", bytes("RIFF", [0x10, 0, 0, 0], "CMX1cont", Buffer.alloc(32).toString("latin1"))],
    ["cwk", "x.cwk", bytes([0x06, 0x07, 0xe1, 0x00], "BOBO", [0x06, 0x07, 0xe1, 0, 0, 0, 0, 0])],
    ["lwp", "x.lwp", bytes("WordPro", [0, 0, 0, 0x10, 0, 0, 0])],
    ["mw", "x.mw", bytes([0x00, 0x06, 0x00, 0x02, 0x00, 0x00, 0xff, 0xff])],
    ["mw", "x.mcw", bytes([0x00, 0x06, 0x00, 0x02, 0x00, 0x00, 0xff, 0xff])],
    ["met", "x.met", bytes([0x00, 0x10, 0xd3, 0xa8, 0xa8, 0x00, 0x00, 0x00])],
    ["pcd", "x.pcd", at(0x800, "PCD_IPI")],
    ["pdb", "x.pdb", at(60, "TEXtREAd")],
    ["stc", "x.stc", manifestOnly("application/vnd.sun.xml.calc.template")],
    ["std", "x.std", manifestOnly("application/vnd.sun.xml.draw.template")],
    ["sti", "x.sti", manifestOnly("application/vnd.sun.xml.impress.template")],
    ["sxg", "x.sxg", manifestOnly("application/vnd.sun.xml.writer.global")],
    [
      "vdx",
      "x.vdx",
      bytes(
        '<?xml version="1.0"?>\n<VisioDocument xmlns="http://schemas.microsoft.com/visio/2003/core"><Pages/></VisioDocument>',
      ),
    ],
    ["wpg", "x.wpg", bytes([0xff], "WPC", [0x10, 0, 0, 0, 0x01, 0x16, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])],
  ])("%s from a minimal header named %s", async (format, name, content) => {
    const found = await run(content, name);
    expect(found, JSON.stringify(found)).toMatchObject({ ok: true, format });
    // Where a signature exists, the name is not needed.
    if (!extensionDecided().includes(name.slice(2))) expect(await run(content)).toMatchObject({ ok: true, format });
  });

  test.each([
    ["formats/hwp-v5.hwp", "a.hwp", "hwp5"],
    ["formats/epub-paragraphs-and-tables.epub", "a.epub", "epub"],
    ["formats/mml-formula.mml", "a.mml", "mml"],
    ["formats/odf-formula.odf", "a.odf", "odf"],
  ])("left out: %s is refused as %s", async (path, name, detected) => {
    expect(await run(fixture(path), name)).toMatchObject({ ok: false, detected });
  });

  test("UOF text, MathML and unknown XML are refused by their roots", async () => {
    const uot = bytes(
      '<?xml version="1.0"?><uof:UOF xmlns:uof="http://schemas.uof.org/cn/2003/uof" uof:mimetype="vnd.uof.text"/>',
    );
    expect(await run(uot, "a.uot")).toMatchObject({ ok: false, detected: "uot" });
    expect(await run(bytes('<?xml version="1.0"?><config><a/></config>'), "a.xml")).toMatchObject({
      ok: false,
      detected: "xml",
    });
  });

  test("iWork 2013 packages: the name tells Pages, Numbers and Keynote apart; without one, a clear refusal", async () => {
    const pkg = fixture("formats/numbers-tables.numbers");
    expect(await run(pkg, "a.numbers")).toMatchObject({ ok: true, format: "numbers" });
    expect(await run(pkg, "a.pages")).toMatchObject({ ok: true, format: "pages" });
    expect(await run(pkg)).toMatchObject({ ok: false, reason: "unsupported", detected: "iwork" });
  });

  test("HTML under a text name stays text; XML dialects may be named .xml; a picture named as a document is a mismatch", async () => {
    const html = fixture("formats/html-paragraphs-and-tables.html");
    expect(await run(html, "page.txt")).toMatchObject({ ok: true, format: "txt" });
    expect(await run(html, "page.doc")).toMatchObject({ ok: true, format: "html" });
    expect(await run(fixture("formats/svg-raw-text.svg"), "drawing.xml")).toMatchObject({ ok: true, format: "svg" });
    expect(await run(fixture("formats/png-raw-text.png"), "photo.docx")).toMatchObject({
      ok: false,
      reason: "mismatch",
      detected: "png",
    });
    expect(await run(fixture("pdf-raw-text.pdf"), "scan.png")).toMatchObject({
      ok: false,
      reason: "mismatch",
      detected: "pdf",
    });
    expect(await run(fixture("formats/png-raw-text.png"), "photo.jpg")).toMatchObject({ ok: true, format: "png" });
    expect(await run(fixture("docx-header-footer.docx"), "report.xls")).toMatchObject({ ok: true, format: "docx" });
  });

  test("weak signatures count only under their own names", async () => {
    const pbm = fixture("formats/pbm-shapes.pbm");
    expect(await run(pbm, "a.pbm")).toMatchObject({ ok: true, format: "pbm" });
    expect((await run(pbm)).ok && ((await run(pbm)) as { format: string }).format).not.toBe("pbm");
    expect(await run(fixture("formats/tga-shapes.tga"))).toMatchObject({ ok: false });
  });

  test("a gzip head is inflated only as far as the head; the converter inflates the whole stream with a cap", async () => {
    const svg = Buffer.from(
      `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><!--${"x".repeat(64 * 1024 * 1024)}--></svg>`,
    );
    const bomb = gzipSync(svg, { level: 9 });
    const head = await detect(bytesSource(bomb), { name: "a.svgz" });
    expect(head).toMatchObject({ ok: true, format: "svgz" });
    expect(head.work.inflated).toBeLessThanOrEqual(64 * 1024);
    expect(await detect(bytesSource(bomb), { name: "a.svgz", inflateAll: true })).toMatchObject({
      ok: false,
      reason: "zip_bomb",
    });
    expect(await run(gzipSync(Buffer.from("plain words")), "a.gz")).toMatchObject({ ok: false, detected: "gzip" });
  });

  test("the extensions that decide are exported for the README", () => {
    expect(extensionDecided()).toEqual(
      expect.arrayContaining(["txt", "csv", "tsv", "602", "mw", "mcw", "tga", "pages", "numbers", "key"]),
    );
  });
});
