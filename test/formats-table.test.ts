// formats.tsv (the research: what LibreOffice 7.4 reads, with a fixture per format) and the format table
// (container/src/formats.ts: what docconv accepts) say the same thing: every row that converts or is detected
// is a source of the table with the row's family, every source has such a row, and a left-out format is
// absent from the table and refused by the public API where a sample of it exists. Detected-only formats
// (LibreOffice imports them, no sample under a usable licence): a minimal structurally valid file of each is
// accepted by POST /v1/files as that format.
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { sources } from "../container/src/formats";
import { formatRows, rowName, tableFamilies, uploadName } from "./format-rows";
import { fixture, form, seedAccount } from "./harness";

const accepted = formatRows.filter((row) => row.status !== "left-out");
const acceptedExtensions = new Set(accepted.map((row) => row.extension));
const sourceNames = Object.keys(sources);

describe("formats.tsv and the format table", () => {
  it.each(accepted.map((row) => [rowName(row), row] as const))("%s is a source of the table, of its family", (_name, row) => {
    expect(sourceNames).toContain(row.extension);
    expect(tableFamilies(row)).toContain(sources[row.extension as keyof typeof sources].family);
  });

  it("every source of the table has a row that converts or is detected (no format accepted without its proof)", () => {
    expect(sourceNames.filter((name) => !acceptedExtensions.has(name))).toEqual([]);
  });

  it("every row that converts has a fixture with LibreOffice's page count (the proof suite's input)", () => {
    const unproven = formatRows.filter((row) => row.status === "converts" && (row.fixture === null || row.cliPdfPages === null));
    expect(unproven.map(rowName)).toEqual([]);
  });

  // hwp and xml also have rows that convert (HWP 3, Word/Excel 2003 XML, DocBook): those left-out rows are
  // variants the detector refuses by content, proven below by their fixtures.
  const leftOut = formatRows.filter((row) => row.status === "left-out" && !acceptedExtensions.has(row.extension));
  it.each(leftOut.map((row) => [rowName(row), row.reason] as const))("%s is left out of the table (%s)", (name) => {
    expect(sourceNames).not.toContain(name);
  });
});

describe("a left-out format is refused by the public API", () => {
  const samples = formatRows.filter((row) => row.status === "left-out" && row.fixture !== null);

  it.each(samples.map((row) => [rowName(row), row] as const))("%s: 415", async (_name, row) => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", { method: "POST", body: form({ file: { name: uploadName(row), bytes: fixture(row.fixture!) } }) });
    expect(res.status, JSON.stringify(res.body)).toBe(415);
    expect(res.body.code).toMatch(/^request\.(unsupported_format|format_mismatch)$/);
  });
});

// Minimal files with each detected-only format's structure (formats.tsv's `detection` column), built here.
const bytes = (...parts: (string | number[] | Uint8Array)[]): Uint8Array => {
  const chunks = parts.map((p) => (typeof p === "string" ? strToU8(p, true) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};
const u16le = (n: number) => [n & 0xff, n >> 8];
const u32le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
const zeros = (n: number) => new Uint8Array(n);
const riff = (form: string, body: Uint8Array) => bytes("RIFF", u32le(4 + body.length), form, body);
const padTo = (length: number, head: Uint8Array) => bytes(head, zeros(Math.max(0, length - head.length)));
/** A StarOffice 6 package as it wrote them: no `mimetype` entry, the type in the manifest's "/" entry. */
const starOffice6 = (mediaType: string, officeClass: string) =>
  zipSync({
    "content.xml": strToU8(`<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="http://openoffice.org/2000/office" office:class="${officeClass}" office:version="1.0"><office:body/></office:document-content>`),
    "META-INF/manifest.xml": strToU8(
      `<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="http://openoffice.org/2001/manifest"><manifest:file-entry manifest:media-type="${mediaType}" manifest:full-path="/"/><manifest:file-entry manifest:media-type="text/xml" manifest:full-path="content.xml"/></manifest:manifest>`,
    ),
  });

const minimal: Record<string, Uint8Array> = {
  // T602: text, optional '@' header lines.
  "602": bytes("@CT 0\r\n@LM 1\r\n@RM 60\r\nHello from T602.\r\n"),
  // CorelDRAW 13 (X3): RIFF 'CDRD' with its version chunk.
  cdr: riff("CDRD", bytes("vrsn", u32le(2), u16le(1300))),
  cmx: riff("CMX1", bytes("cont", u32le(4), zeros(4))),
  // ClarisWorks 6: version byte, then 'BOBO'.
  cwk: padTo(512, bytes([0x06, 0x07, 0xe1, 0x00], "BOBO")),
  lwp: padTo(512, bytes("WordPro", zeros(9))),
  // Word for Macintosh 5 (extension only).
  mcw: padTo(512, bytes([0xfe, 0x37, 0x00, 0x1c])),
  // OS/2 metafile: a Begin Document structured field.
  met: padTo(256, bytes([0x00, 0x10, 0xd3, 0xa8, 0xa8])),
  // MacWrite 5 (extension only): version word 6.
  mw: padTo(512, bytes([0x00, 0x06])),
  // Kodak Photo CD: 'PCD_IPI' at 0x800.
  pcd: padTo(4096, bytes(zeros(0x800), "PCD_IPI")),
  // PalmDoc: the database header (type and creator at 60), two records: the PalmDoc header (uncompressed,
  // 19 bytes of text in one record) and the text.
  pdb: bytes(padTo(32, bytes("hello")), zeros(28), "TEXtREAd", zeros(8), [0, 2], [0, 0, 0, 96], zeros(4), [0, 0, 0, 112], [0, 0, 0, 1], [0, 0], [0, 1, 0, 0, 0, 0, 0, 19, 0, 1, 0x10, 0, 0, 0, 0, 0], "Hello from PalmDoc."),
  stc: starOffice6("application/vnd.sun.xml.calc.template", "spreadsheet"),
  std: starOffice6("application/vnd.sun.xml.draw.template", "drawing"),
  sti: starOffice6("application/vnd.sun.xml.impress.template", "presentation"),
  sxg: starOffice6("application/vnd.sun.xml.writer.global", "text"),
  vdx: bytes('<?xml version="1.0" encoding="utf-8"?>\n<VisioDocument xmlns="http://schemas.microsoft.com/visio/2003/core"><DocumentProperties/><Pages/></VisioDocument>\n'),
  // WordPerfect graphic: FF 'WPC', data offset 16, product 1, file type 0x16, version 1.0.
  wpg: padTo(64, bytes([0xff], "WPC", u32le(16), [0x01, 0x16, 0x01, 0x00], zeros(4))),
};

describe("a detected-only format is recognised from a minimal file of its structure", () => {
  const rows = formatRows.filter((row) => row.status === "detected-only");

  it("every detected-only row has a minimal file here", () => {
    expect(rows.map((row) => row.extension).filter((ext) => !minimal[ext])).toEqual([]);
  });

  it.each(rows.map((row) => [row.extension] as const))("%s", async (ext) => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", { method: "POST", body: form({ file: { name: `minimal.${ext}`, bytes: minimal[ext]! } }) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.source_format).toBe(ext);
  });
});
