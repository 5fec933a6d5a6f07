// What the uploaded bytes are, from their magic numbers and container structure — never from the name alone.

import { open } from "node:fs/promises";
import { CFB_MAGIC, cfbStreamNames } from "./cfb.ts";
import { readZipEntries, readZipEntry } from "./zip.ts";
import type { SourceName } from "../formats.ts";

export interface Detection {
  /** What the bytes are: a source name, or a label for things we do not convert ("png", "xlsb", "zip"…). */
  kind: SourceName | string;
  /** True when the bytes alone settle the format; false when only a guess ("unknown" binary). */
  certain: boolean;
  /** An OOXML package encrypted with a password (stored inside an OLE2 container). */
  encrypted?: boolean;
}

const HEAD_BYTES = 64 * 1024;

export async function detectFormat(path: string): Promise<Detection> {
  const head = await readHead(path);
  if (head.length === 0) return { kind: "empty", certain: true };
  if (head.subarray(0, 1024).includes("%PDF-")) return { kind: "pdf", certain: true };
  if (head.subarray(0, 8).equals(CFB_MAGIC)) return detectCfb(path);
  const magic = head.length >= 4 ? head.readUInt32LE(0) : 0;
  if (magic === 0x04034b50 || magic === 0x06054b50) return detectZip(path);
  if (head.subarray(0, 5).toString("latin1") === "{\\rtf") return { kind: "rtf", certain: true };
  const image = imageKind(head);
  if (image) return { kind: image, certain: true };
  if (looksLikeText(head)) return { kind: "csv", certain: true };
  return { kind: "unknown", certain: false };
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function detectCfb(path: string): Promise<Detection> {
  const names = new Set((await cfbStreamNames(path)).map((n) => n.toLowerCase()));
  if (names.has("encryptedpackage")) return { kind: "ooxml", certain: true, encrypted: true };
  if (names.has("worddocument")) return { kind: "doc", certain: true };
  if (names.has("workbook") || names.has("book")) return { kind: "xls", certain: true };
  if (names.has("powerpoint document")) return { kind: "ppt", certain: true };
  return { kind: "ole2", certain: names.size > 0 };
}

const odfKinds: [string, SourceName | string][] = [
  ["application/vnd.oasis.opendocument.text", "odt"],
  ["application/vnd.oasis.opendocument.spreadsheet", "ods"],
  ["application/vnd.oasis.opendocument.presentation", "odp"],
  ["application/vnd.oasis.opendocument.graphics", "odg"],
];

async function detectZip(path: string): Promise<Detection> {
  const { entries } = await readZipEntries(path);
  const names = entries.map((e) => e.name);
  const mimetype = entries.find((e) => e.name === "mimetype");
  if (mimetype) {
    const value = (await readZipEntry(path, mimetype, 256))?.toString("latin1").trim() ?? "";
    // Templates (…-template) open like their documents.
    for (const [prefix, kind] of odfKinds) if (value.startsWith(prefix)) return { kind, certain: true };
    if (value) return { kind: "odf-other", certain: true };
  }
  if (names.some((n) => n.startsWith("word/"))) return { kind: "docx", certain: true };
  if (names.includes("xl/workbook.bin")) return { kind: "xlsb", certain: true };
  if (names.some((n) => n.startsWith("xl/"))) return { kind: "xlsx", certain: true };
  if (names.some((n) => n.startsWith("ppt/"))) return { kind: "pptx", certain: true };
  // A cut-off package may hold only [Content_Types].xml: its content types still tell the kind.
  const types = entries.find((e) => e.name === "[Content_Types].xml");
  if (types) {
    const xml = (await readZipEntry(path, types))?.toString("utf8") ?? "";
    if (xml.includes("wordprocessingml")) return { kind: "docx", certain: true };
    if (xml.includes("spreadsheetml")) return { kind: "xlsx", certain: true };
    if (xml.includes("presentationml")) return { kind: "pptx", certain: true };
  }
  return { kind: "zip", certain: names.length > 0 };
}

function imageKind(head: Buffer): string | undefined {
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47) return "png";
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpg";
  const ascii = head.subarray(0, 6).toString("latin1");
  if (ascii === "GIF87a" || ascii === "GIF89a") return "gif";
  return undefined;
}

function looksLikeText(head: Buffer): boolean {
  if (isUtf16Bom(head)) return true;
  let control = 0;
  for (const byte of head) {
    if (byte === 0) return false;
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20 && byte !== 0x1b)) control++;
  }
  return control <= head.length / 100;
}

function isUtf16Bom(head: Buffer): boolean {
  return head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff));
}

/**
 * LibreOffice's CSV import options ("separator,quote,charset,first line") from a look at the text: the
 * separator that splits the first lines most consistently, UTF-8 when the bytes are valid UTF-8.
 */
export async function csvImportOptions(path: string): Promise<string> {
  const head = await readHead(path);
  let charset = "76"; // UTF-8
  let text: string;
  if (isUtf16Bom(head)) {
    charset = "65535"; // UTF-16 with byte-order mark
    text = head[0] === 0xff ? head.toString("utf16le") : "";
  } else {
    try {
      // Cut at the last newline so a multi-byte character split by the 64 KiB window does not fail decoding.
      const cut = head.length === HEAD_BYTES ? head.subarray(0, Math.max(head.lastIndexOf(0x0a), 1)) : head;
      text = new TextDecoder("utf-8", { fatal: true }).decode(cut);
    } catch {
      charset = "1"; // Windows-1252
      text = head.toString("latin1");
    }
  }
  const separator = guessSeparator(text);
  return `${separator.charCodeAt(0)},34,${charset},1`;
}

function guessSeparator(text: string): string {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0).slice(0, 20);
  let best = ",";
  let bestScore = 0;
  for (const candidate of [",", ";", "\t", "|"]) {
    const counts = lines.map((line) => countOutsideQuotes(line, candidate));
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const consistent = counts.filter((c) => c === first).length;
    const score = consistent * 1000 + first;
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

function countOutsideQuotes(line: string, char: string): number {
  let inQuotes = false;
  let count = 0;
  for (const c of line) {
    if (c === '"') inQuotes = !inQuotes;
    else if (c === char && !inQuotes) count++;
  }
  return count;
}
