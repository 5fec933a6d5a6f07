// What the converter tests share: fixtures with their expected page counts, one call per conversion, and
// sniffers that check outputs independently of the converter's own code (own ZIP reader, own PDF counter).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { crc32, inflateRawSync, inflateSync } from "node:zlib";
import { strToU8, zipSync } from "fflate";
import { inject } from "vitest";
import { TEST_SECRET } from "./server-process.ts";

const fixturesDir = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

export function fixture(name: string): Buffer {
  return readFileSync(fixturesDir + name);
}

/** Page counts LibreOffice 7.4's CLI gives each fixture (MANIFEST.tsv notes: "-> pdf: N pages"). */
export const expectedPages: Record<string, number> = Object.fromEntries(
  readFileSync(`${fixturesDir}MANIFEST.tsv`, "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.split("\t"))
    .map((cols) => [cols[0], Number(/pdf: (\d+) pages/.exec(cols.at(-1) ?? "")?.[1])] as const)
    .filter(([, pages]) => Number.isInteger(pages)),
);

export interface Converted {
  status: number;
  headers: Headers;
  body: Buffer;
  /** Parsed body when the response is JSON. */
  json: Record<string, unknown> | undefined;
}

export async function convert(
  body: Buffer | Uint8Array,
  query: Record<string, string | number>,
  url = inject("converterUrl"),
): Promise<Converted> {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await fetch(`${url}/convert?${params}`, {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer>,
    headers: { "Content-Type": "application/octet-stream", "X-Converter-Secret": TEST_SECRET },
  });
  const buffer = Buffer.from(await res.arrayBuffer());
  const json = res.headers.get("content-type")?.startsWith("application/json")
    ? (JSON.parse(buffer.toString("utf8")) as Record<string, unknown>)
    : undefined;
  return { status: res.status, headers: res.headers, body: buffer, json };
}

export async function getJson(path: string, url = inject("converterUrl")): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, { headers: { "X-Converter-Secret": TEST_SECRET } });
  return { status: res.status, body: await res.json() };
}

/** formats.tsv's text probe for a fixture path (what pdftotext finds in LibreOffice's CLI PDF of it), or "". */
export const textProbe: Record<string, string> = Object.fromEntries(
  readFileSync(`${fixturesDir}formats/formats.tsv`, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split("\t"))
    .filter((cols) => cols[4] && cols[4] !== "none")
    .map((cols) => [cols[4]!, cols[6] ?? ""] as const),
);

/** The text of a PDF, by poppler's pdftotext (independent of the converter). */
export function pdfText(pdf: Buffer): string {
  return execFileSync("pdftotext", ["-q", "-", "-"], { input: pdf, maxBuffer: 64 * 1024 * 1024 }).toString("utf8");
}

/** Text stored as Latin-1 or UTF-16LE in a binary file (Word, Excel and PowerPoint 97 keep it so). */
export function binaryContains(file: Buffer, text: string): boolean {
  return file.includes(Buffer.from(text, "latin1")) || file.includes(Buffer.from(text, "utf16le"));
}

export const isPdf = (b: Buffer) => b.subarray(0, 5).toString("latin1") === "%PDF-";
export const isPng = (b: Buffer) =>
  b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
export const isJpeg = (b: Buffer) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
export const isZip = (b: Buffer) => b.readUInt32LE(0) === 0x04034b50;
export const isRtf = (b: Buffer) => b.subarray(0, 5).toString("latin1") === "{\\rtf";

/** Page objects in a PDF written by LibreOffice (its page dictionaries are never inside object streams). */
export function pdfPages(pdf: Buffer): number {
  return pdf.toString("latin1").match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
}

export function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * Decodes a PNG far enough to prove it whole: every chunk's CRC, and the image data inflating to exactly one
 * filter byte plus one row of pixels per line. Returns the raw scanlines.
 */
export function checkPng(png: Buffer): { width: number; height: number; channels: number; scanlines: Buffer } {
  if (!isPng(png)) throw new Error("no PNG signature");
  let p = 8;
  const idat: Buffer[] = [];
  let header: Buffer | undefined;
  let ended = false;
  while (p < png.length) {
    const length = png.readUInt32BE(p);
    const type = png.toString("latin1", p + 4, p + 8);
    const data = png.subarray(p + 8, p + 8 + length);
    if (crc32(png.subarray(p + 4, p + 8 + length)) !== png.readUInt32BE(p + 8 + length))
      throw new Error(`bad CRC in ${type}`);
    if (type === "IHDR") header = data;
    if (type === "IDAT") idat.push(data);
    if (type === "IEND") ended = true;
    p += 12 + length;
  }
  if (!header || !ended) throw new Error("IHDR or IEND missing");
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[header[9] as 0 | 2 | 4 | 6];
  if (header[8] !== 8 || !channels) throw new Error("unexpected PNG format");
  const scanlines = inflateSync(Buffer.concat(idat));
  if (scanlines.length !== height * (1 + width * channels)) throw new Error("image data has the wrong size");
  return { width, height, channels, scanlines };
}

/** All entries of a ZIP, CRC-checked: an independent reader, not the converter's. */
export function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error("no end of central directory");
  const count = zip.readUInt16LE(end + 10);
  let p = zip.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error("bad central directory entry");
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const extra = zip.readUInt16LE(p + 30);
    const comment = zip.readUInt16LE(p + 32);
    const offset = zip.readUInt32LE(p + 42);
    const name = zip.toString("utf8", p + 46, p + 46 + nameLength);
    const start = offset + 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28);
    const raw = zip.subarray(start, start + compressed);
    const data = method === 0 ? raw : inflateRawSync(raw);
    if (crc32(data) !== crc) throw new Error(`CRC mismatch in ${name}`);
    entries.set(name, data);
    p += 46 + nameLength + extra + comment;
  }
  return entries;
}

export function csvRows(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.length > 0);
}

/** A ZIP of stored (uncompressed) entries, for documents a test writes itself. */
export function makeZip(files: Record<string, string | Uint8Array>): Buffer {
  const entries = Object.fromEntries(
    Object.entries(files).map(([name, data]) => [name, typeof data === "string" ? strToU8(data) : data]),
  );
  return Buffer.from(zipSync(entries, { level: 0 }));
}

/** A minimal xlsx with one worksheet per entry of `sheets` (rows of cells), `activeTab` 0-based. */
export function makeWorkbook(sheets: Record<string, (string | number)[][]>, activeTab = 0): Buffer {
  const names = Object.keys(sheets);
  const ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
  const rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
  const escape = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const files: Record<string, string> = {
    "[Content_Types].xml":
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
      names
        .map(
          (_, i) =>
            `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`,
        )
        .join("") +
      "</Types>",
    "_rels/.rels":
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      `<Relationship Id="rId1" Type="${rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    "xl/workbook.xml":
      `<?xml version="1.0" encoding="UTF-8"?><workbook ${ns} xmlns:r="${rel}"><bookViews><workbookView activeTab="${activeTab}"/></bookViews><sheets>` +
      names.map((name, i) => `<sheet name="${escape(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join("") +
      "</sheets></workbook>",
    "xl/_rels/workbook.xml.rels":
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      names
        .map((_, i) => `<Relationship Id="rId${i + 1}" Type="${rel}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`)
        .join("") +
      "</Relationships>",
  };
  names.forEach((name, i) => {
    const rows = sheets[name]!.map(
      (cells, r) =>
        `<row r="${r + 1}">` +
        cells
          .map((value, c) => {
            const ref = `${String.fromCharCode(65 + c)}${r + 1}`;
            return typeof value === "number"
              ? `<c r="${ref}"><v>${value}</v></c>`
              : `<c r="${ref}" t="inlineStr"><is><t>${escape(value)}</t></is></c>`;
          })
          .join("") +
        "</row>",
    );
    files[`xl/worksheets/sheet${i + 1}.xml`] =
      `<?xml version="1.0" encoding="UTF-8"?><worksheet ${ns}><sheetData>${rows.join("")}</sheetData></worksheet>`;
  });
  return makeZip(files);
}
