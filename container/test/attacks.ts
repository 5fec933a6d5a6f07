// The attack suite's tools: crafted documents aimed at a path or URL, canaries planted where an instance must not
// read, and leak detectors that look at outputs independently of the converter (pdftotext, pdfimages, our own
// ZIP reader, raw bytes).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { strToU8, unzipSync, type Zippable, zipSync } from "fflate";
import { fixture, isPdf, isZip, makeZip, unzip } from "./helpers.ts";

/** A crafted fixture (test/fixtures/hostile-*) with its @CANARY@ placeholder replaced by `target`. */
export function aimedAt(name: string, target: string): Buffer {
  const bytes = fixture(name);
  if (!isZip(bytes)) return Buffer.from(bytes.toString("latin1").replaceAll("@CANARY@", target), "latin1");
  const xmlTarget = target.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
  const entries: Zippable = {};
  for (const [path, data] of Object.entries(unzipSync(bytes))) {
    const text = Buffer.from(data).toString("utf8");
    entries[path] = path === "mimetype" ? [data, { level: 0 }] : strToU8(text.replaceAll("@CANARY@", xmlTarget));
  }
  return Buffer.from(zipSync(entries));
}

export interface Canaries {
  dir: string;
  /** A PNG no other file has (random pixels): found byte for byte if embedded. */
  png: { path: string; bytes: Buffer };
  /** An SVG whose text LibreOffice would render into a PDF. */
  svg: { path: string; marker: string };
  /** Plain text, and an ODS / ODT carrying the same marker (for external references and linked objects). */
  text: { path: string; marker: string };
  ods: { path: string };
  odt: { path: string };
  /** A file that does not exist, beside the others: answers must not tell the two apart. */
  missing: string;
}

/** Plants canaries in a new directory `dir` (0700, owned by `owner` when given, as another instance's cell is). */
export function plantCanaries(dir: string, owner?: number): Canaries {
  mkdirSync(dir, { mode: 0o700 });
  const marker = `CANARY${randomBytes(6).toString("hex").toUpperCase()}`;
  const png = randomPng(24, 16);
  const files: Record<string, Buffer> = {
    "secret.png": png,
    "secret.svg": Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="80"><text id="canary" x="10" y="50" font-size="36">${marker}</text></svg>`,
    ),
    "secret.txt": Buffer.from(`${marker}\n`),
    "secret.ods": odf(
      "application/vnd.oasis.opendocument.spreadsheet",
      `<office:spreadsheet><table:table table:name="Sheet1"><table:table-row><table:table-cell office:value-type="string"><text:p>${marker}</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>`,
    ),
    "secret.odt": odf(
      "application/vnd.oasis.opendocument.text",
      `<office:text><text:p>${marker}</text:p></office:text>`,
    ),
  };
  for (const [name, data] of Object.entries(files)) {
    writeFileSync(join(dir, name), data, { mode: 0o600 });
    if (owner !== undefined) chownSync(join(dir, name), owner, owner);
  }
  if (owner !== undefined) chownSync(dir, owner, owner);
  return {
    dir,
    png: { path: join(dir, "secret.png"), bytes: png },
    svg: { path: join(dir, "secret.svg"), marker },
    text: { path: join(dir, "secret.txt"), marker },
    ods: { path: join(dir, "secret.ods") },
    odt: { path: join(dir, "secret.odt") },
    missing: join(dir, "nothing-here.png"),
  };
}

/**
 * What of the canaries an output carries: the PNG's bytes anywhere (ZIP entries, raw), the marker in any text
 * (ZIP entries, raw bytes, pdftotext), or any image at all in a PDF (the attack documents have none of their own)
 * but LibreOffice's placeholder for a picture it could not load.
 */
export function leaks(output: Buffer, canaries: Canaries, workDir: string): string[] {
  const found: string[] = [];
  const marker = canaries.text.marker;
  const squash = (text: string) => text.replace(/\s+/g, "");
  const parts = isZip(output) ? [...unzip(output).entries()] : [["body", output] as [string, Buffer]];
  for (const [name, data] of parts) {
    if (data.includes(canaries.png.bytes)) found.push(`${name}: the PNG byte for byte`);
    if (squash(data.toString("latin1")).includes(marker)) found.push(`${name}: the marker`);
  }
  if (isPdf(output)) {
    const pdf = join(workDir, `leak-check-${randomBytes(4).toString("hex")}.pdf`);
    writeFileSync(pdf, output);
    if (squash(execFileSync("pdftotext", [pdf, "-"], { encoding: "utf8" })).includes(marker))
      found.push("pdf text: the marker");
    // LibreOffice draws a missing linked picture as its 32×32 broken-image icon (with its mask): not a leak.
    const images = execFileSync("pdfimages", ["-list", pdf], { encoding: "utf8" })
      .trim()
      .split("\n")
      .slice(2)
      .filter((line) => !/^\s*\d+\s+\d+\s+(image|smask)\s+32\s+32\s/.test(line));
    if (images.length) found.push(`pdf: ${images.length} image(s)`);
  }
  return found;
}

function odf(mimetype: string, body: string): Buffer {
  const ns =
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" ' +
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2"';
  return makeZip({
    mimetype,
    "content.xml": `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${ns}><office:body>${body}</office:body></office:document-content>`,
    "META-INF/manifest.xml":
      '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">' +
      `<manifest:file-entry manifest:full-path="/" manifest:media-type="${mimetype}"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`,
  });
}

/** A PNG of random pixels: incompressible, and unlike any other file. */
export function randomPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.concat(
    Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), randomBytes(width * 3)])),
  );
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
