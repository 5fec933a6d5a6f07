// What an upload is, decided from its bytes (the name only breaks ties between formats whose bytes
// look alike, such as csv and plain text), and how many pages it has when its own metadata says so.
import { listZipEntries, readZipText, type ZipEntry } from "./zip";

export type Inspection =
  | { ok: true; format: string; pages: number | null }
  | { ok: false; code: "request.empty_file" | "request.unsupported_format" | "request.format_mismatch" | "convert.corrupt_input" | "convert.zip_bomb"; detail: string; detected?: string };

// A zip inflating past either bound is refused before it reaches LibreOffice.
export const ZIP_MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024;
export const ZIP_MAX_RATIO = 200;
export const ZIP_MAX_ENTRIES = 20000;

const ODF_MIMETYPES: Record<string, string> = {
  "application/vnd.oasis.opendocument.text": "odt",
  "application/vnd.oasis.opendocument.spreadsheet": "ods",
  "application/vnd.oasis.opendocument.presentation": "odp",
};

export function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf(".");
  return dot > 0 ? filename.slice(dot + 1).toLowerCase() : "";
}

function startsWith(bytes: Uint8Array, magic: number[], offset = 0): boolean {
  return magic.every((b, i) => bytes[offset + i] === b);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < Math.min(end, bytes.length); i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

export function inspectDocument(bytes: Uint8Array, filename: string): Inspection {
  const ext = extensionOf(filename);
  if (bytes.length === 0) return { ok: false, code: "request.empty_file", detail: "the file is empty" };

  if (ascii(bytes, 0, 5) === "%PDF-") return { ok: true, format: "pdf", pages: pdfPageCount(bytes) };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return inspectZip(bytes, ext);
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return inspectOle(bytes, ext);
  if (ascii(bytes, 0, 5) === "{\\rtf") return { ok: true, format: "rtf", pages: null };

  const image = imageKind(bytes);
  if (image) {
    return { ok: false, code: ext && ext !== image ? "request.format_mismatch" : "request.unsupported_format", detected: image,
      detail: ext && ext !== image ? `the file is named .${ext} but its bytes are a ${image.toUpperCase()} image, which cannot be converted` : `${image.toUpperCase()} images are not a supported source format` };
  }
  if (looksLikeText(bytes)) {
    if (ext === "csv" || ext === "tsv" || looksLikeCsv(bytes)) return { ok: true, format: "csv", pages: null };
    if (ext === "txt" || ext === "text" || ext === "") return { ok: true, format: "txt", pages: null };
    return { ok: false, code: "request.format_mismatch", detected: "txt", detail: `the file is named .${ext} but its bytes are plain text` };
  }
  return { ok: false, code: "request.unsupported_format", detail: `could not recognise the file's format${ext ? ` (named .${ext})` : ""}` };
}

function inspectZip(bytes: Uint8Array, ext: string): Inspection {
  const entries = listZipEntries(bytes);
  if (!entries) return { ok: false, code: "convert.corrupt_input", detail: "the file is a damaged or truncated zip archive" };
  const bomb = zipBombReason(entries, bytes.length);
  if (bomb) return { ok: false, code: "convert.zip_bomb", detail: bomb };
  const names = new Set(entries.map((e) => e.name));
  const entry = (name: string) => entries.find((e) => e.name === name);

  const mimetype = entry("mimetype");
  if (mimetype) {
    const type = (readZipText(bytes, mimetype, 1024) ?? "").trim();
    const format = ODF_MIMETYPES[type];
    if (format) {
      if (names.has("META-INF/manifest.xml")) {
        const manifest = readZipText(bytes, entry("META-INF/manifest.xml")!) ?? "";
        if (manifest.includes("manifest:encryption-data")) return { ok: true, format, pages: null };
      }
      return { ok: true, format, pages: odfPageCount(bytes, entry("meta.xml"), format) };
    }
  }
  if (names.has("[Content_Types].xml")) {
    const app = entry("docProps/app.xml");
    if (names.has("word/document.xml")) return { ok: true, format: "docx", pages: ooxmlCount(bytes, app, "Pages") };
    if (names.has("xl/workbook.xml")) return { ok: true, format: "xlsx", pages: null };
    if (names.has("ppt/presentation.xml")) return { ok: true, format: "pptx", pages: ooxmlCount(bytes, app, "Slides") };
    if (names.has("xl/workbook.bin")) return { ok: false, code: "request.unsupported_format", detected: "xlsb", detail: "xlsb (binary Excel workbooks) is not a supported source format" };
    // Strict OOXML and other part layouts: find the main part through the relationships.
    const rels = readZipText(bytes, entry("_rels/.rels") ?? entries[0]!) ?? "";
    if (/officeDocument"?\s[^>]*Target="\/?word\//.test(rels) || rels.includes("word/")) return { ok: true, format: "docx", pages: null };
    if (rels.includes("xl/")) return { ok: true, format: "xlsx", pages: null };
    if (rels.includes("ppt/")) return { ok: true, format: "pptx", pages: null };
  }
  return { ok: false, code: "request.unsupported_format", detected: "zip", detail: `the file is a zip archive but not an Office or OpenDocument file${ext ? ` (named .${ext})` : ""}` };
}

export function zipBombReason(entries: ZipEntry[], compressedBytes: number): string | null {
  if (entries.length > ZIP_MAX_ENTRIES) return `the archive has ${entries.length} entries (limit ${ZIP_MAX_ENTRIES})`;
  const total = entries.reduce((sum, e) => sum + e.uncompressedSize, 0);
  if (total > ZIP_MAX_UNCOMPRESSED_BYTES) return `the archive inflates to ${total} bytes (limit ${ZIP_MAX_UNCOMPRESSED_BYTES})`;
  if (total > 10 * 1024 * 1024 && total / Math.max(1, compressedBytes) > ZIP_MAX_RATIO) {
    return `the archive inflates ${Math.round(total / compressedBytes)}× its size (limit ${ZIP_MAX_RATIO}×)`;
  }
  return null;
}

function inspectOle(bytes: Uint8Array, ext: string): Inspection {
  // Compound File Binary: the top-level stream names say which Office program wrote it. Names are
  // UTF-16LE in directory entries; searching the bytes avoids walking the FAT chains.
  const has = (name: string) => indexOfUtf16(bytes, name) >= 0;
  if (has("WordDocument")) return { ok: true, format: "doc", pages: null };
  if (has("Workbook") || has("Book")) return { ok: true, format: "xls", pages: null };
  if (has("PowerPoint Document")) return { ok: true, format: "ppt", pages: null };
  if (has("EncryptedPackage")) {
    // An encrypted OOXML file is an OLE container; the converter reports it as password protected.
    const format = ["docx", "xlsx", "pptx"].includes(ext) ? ext : "docx";
    return { ok: true, format, pages: null };
  }
  return { ok: false, code: "request.unsupported_format", detail: "the file is an OLE compound document of an unsupported kind" };
}

function indexOfUtf16(bytes: Uint8Array, name: string): number {
  const needle = new Uint8Array(name.length * 2 + 2);
  for (let i = 0; i < name.length; i++) needle[i * 2] = name.charCodeAt(i);
  // Directory entry names are NUL-terminated: require the terminator so "Book" does not match "Workbook"'s tail.
  outer: for (let i = 0; i + needle.length <= bytes.length; i += 2) {
    if (bytes[i] !== needle[0]) continue;
    for (let j = 1; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    // Entries start at 128-byte boundaries in the directory.
    if (i % 128 === 0) return i;
  }
  return -1;
}

function imageKind(bytes: Uint8Array): string | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47])) return "png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpg";
  if (ascii(bytes, 0, 4) === "GIF8") return "gif";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "webp";
  return null;
}

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 8192);
  if (sample.includes(0)) return false;
  try {
    // A multi-byte character cut at the sample's end is not an error.
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(sample.length < bytes.length ? sample.subarray(0, lastCharBoundary(sample)) : sample);
    return true;
  } catch {
    let control = 0;
    for (const b of sample) if (b < 9 || (b > 13 && b < 32)) control++;
    return control / sample.length < 0.01; // latin-1 text
  }
}

function lastCharBoundary(sample: Uint8Array): number {
  let end = sample.length;
  while (end > 0 && (sample[end - 1]! & 0xc0) === 0x80) end--;
  return end > 0 && sample[end - 1]! >= 0xc0 ? end - 1 : sample.length;
}

function looksLikeCsv(bytes: Uint8Array): boolean {
  const lines = new TextDecoder().decode(bytes.subarray(0, 4096)).split(/\r?\n/).filter((l) => l.length > 0).slice(0, 10);
  if (lines.length < 2) return false;
  for (const sep of [",", ";", "\t"]) {
    const counts = lines.map((l) => l.split(sep).length - 1);
    if (counts[0]! > 0 && counts.every((n) => n === counts[0])) return true;
  }
  return false;
}

function pdfPageCount(bytes: Uint8Array): number | null {
  const text = ascii(bytes, 0, bytes.length);
  const pages = text.match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
  if (pages > 0) return pages;
  // Compressed object streams hide the page objects; the page tree root's /Count still says it.
  const counts = [...text.matchAll(/\/Type\s*\/Pages[^>]*?\/Count\s+(\d+)|\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages/g)].map((m) => Number(m[1] ?? m[2]));
  return counts.length ? Math.max(...counts) : null;
}

function ooxmlCount(bytes: Uint8Array, app: ZipEntry | undefined, tag: "Pages" | "Slides"): number | null {
  if (!app) return null;
  const xml = readZipText(bytes, app, 1024 * 1024) ?? "";
  const m = new RegExp(`<(?:\\w+:)?${tag}>(\\d+)</`).exec(xml);
  const n = m ? Number(m[1]) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

function odfPageCount(bytes: Uint8Array, meta: ZipEntry | undefined, format: string): number | null {
  if (!meta || format !== "odt") return null;
  const xml = readZipText(bytes, meta, 1024 * 1024) ?? "";
  const m = /meta:page-count="(\d+)"/.exec(xml);
  return m ? Number(m[1]) : null;
}
