// ZIP as office packages use it: the central directory (found from the end-of-central-directory record in the
// file's tail, zip64 included), one entry inflated as a stream with a cap, and every entry inflated with a
// byte counter (the converter's zip-bomb check on the real bytes, not the sizes the archive declares).

import { DetectError, inflate, type Reader } from "./source.ts";

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Sum of the sizes the entries declare once inflated. */
  declaredBytes: number;
  offset: number;
}

/** Zip-bomb limits: what the archive may declare (Worker, cheap) and what it may really inflate to (converter). */
export const ZIP_LIMITS = {
  maxEntries: 20_000,
  maxInflatedBytes: 1024 * 1024 * 1024,
  /** Above this many inflated bytes, the archive may inflate at most `maxRatio` times its size. */
  ratioFloorBytes: 10 * 1024 * 1024,
  maxRatio: 200,
  maxDirectoryBytes: 16 * 1024 * 1024,
};

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

const u16 = (b: Uint8Array, p: number) => b[p]! | (b[p + 1]! << 8);
const u32 = (b: Uint8Array, p: number) => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, p: number) => u32(b, p) + u32(b, p + 4) * 2 ** 32;

function damaged(detail: string): DetectError {
  return new DetectError("corrupt", `the file is a damaged or truncated zip archive (${detail})`);
}

export async function readDirectory(reader: Reader): Promise<ZipDirectory> {
  const size = reader.size;
  // The end record is the last 22 bytes, or earlier by a comment of up to 64 KiB.
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = await reader.read(size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && u32(tail, i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw damaged("no end of central directory");
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locatorAt = size - tailLength + eocd - 20;
    const locator = locatorAt >= 0 ? await reader.read(locatorAt, 20) : new Uint8Array();
    if (locator.length === 20 && u32(locator, 0) === ZIP64_LOCATOR) {
      const record = await reader.read(u64(locator, 8), 56);
      if (record.length < 56 || u32(record, 0) !== ZIP64_EOCD) throw damaged("a bad zip64 end record");
      count = u64(record, 32);
      cdSize = u64(record, 40);
      cdOffset = u64(record, 48);
    }
  }
  if (count > ZIP_LIMITS.maxEntries)
    throw new DetectError("zip_bomb", `the archive has ${count} entries (limit ${ZIP_LIMITS.maxEntries})`);
  if (cdSize > ZIP_LIMITS.maxDirectoryBytes)
    throw new DetectError(
      "zip_bomb",
      `the archive's directory is ${cdSize} bytes (limit ${ZIP_LIMITS.maxDirectoryBytes})`,
    );
  if (cdOffset + cdSize > size) throw damaged("the directory runs past the end of the file");

  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder();
  let declaredBytes = 0;
  // Read the directory in windows of at most 1 MiB; an entry never spans more than 46 + 3 × 64 KiB bytes.
  let window: Uint8Array = new Uint8Array(0);
  let windowStart = cdOffset;
  let p = cdOffset;
  const ensure = async (length: number) => {
    if (p + length <= windowStart + window.length) return;
    windowStart = p;
    window = await reader.read(p, Math.min(Math.max(length, 256 * 1024), cdOffset + cdSize - p));
    if (window.length < length) throw damaged("the directory is cut short");
  };
  for (let n = 0; n < count; n++) {
    await ensure(46);
    let at = p - windowStart;
    if (u32(window, at) !== CENTRAL) throw damaged("a bad directory entry");
    const nameLength = u16(window, at + 28);
    const extraLength = u16(window, at + 30);
    const commentLength = u16(window, at + 32);
    const total = 46 + nameLength + extraLength + commentLength;
    await ensure(total);
    at = p - windowStart;
    const entry: ZipEntry = {
      name: decoder.decode(window.subarray(at + 46, at + 46 + nameLength)),
      method: u16(window, at + 10),
      flags: u16(window, at + 8),
      compressedSize: u32(window, at + 20),
      uncompressedSize: u32(window, at + 24),
      localHeaderOffset: u32(window, at + 42),
    };
    // Zip64: the real sizes are in the extra field when the 32-bit ones are saturated.
    let e = at + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = u16(window, e);
      const length = u16(window, e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const end = Math.min(extraEnd, q + length);
        if (entry.uncompressedSize === 0xffffffff && q + 8 <= end) {
          entry.uncompressedSize = u64(window, q);
          q += 8;
        }
        if (entry.compressedSize === 0xffffffff && q + 8 <= end) {
          entry.compressedSize = u64(window, q);
          q += 8;
        }
        if (entry.localHeaderOffset === 0xffffffff && q + 8 <= end) entry.localHeaderOffset = u64(window, q);
      }
      e += 4 + length;
    }
    declaredBytes += entry.uncompressedSize;
    entries.push(entry);
    p += total;
  }
  return { entries, declaredBytes, offset: cdOffset };
}

/**
 * The cheap check on what the archive declares (the Worker's): entry count (checked while reading), total and
 * ratio of declared sizes, and entries whose compressed data cannot all fit before the directory (entries
 * overlapping one another: the trick of bombs that reuse one compressed kernel for many entries).
 */
export function declaredBombReason(dir: ZipDirectory, fileSize: number): string | null {
  const { maxInflatedBytes, ratioFloorBytes, maxRatio } = ZIP_LIMITS;
  if (dir.declaredBytes > maxInflatedBytes)
    return `the archive inflates to ${dir.declaredBytes} bytes (limit ${maxInflatedBytes})`;
  if (dir.declaredBytes > ratioFloorBytes && dir.declaredBytes / Math.max(1, fileSize) > maxRatio) {
    return `the archive inflates ${Math.round(dir.declaredBytes / fileSize)}× its size (limit ${maxRatio}×)`;
  }
  let minimumSpan = 0;
  for (const e of dir.entries) minimumSpan += 30 + e.compressedSize;
  if (minimumSpan > dir.offset) return "the archive's entries overlap one another (a known zip-bomb construction)";
  return null;
}

/** Where an entry's compressed data starts (after its local header). */
async function dataOffset(reader: Reader, entry: ZipEntry): Promise<number> {
  const header = await reader.read(entry.localHeaderOffset, 30);
  if (header.length < 30 || u32(header, 0) !== LOCAL) throw damaged(`entry ${entry.name} has no local header`);
  const start = entry.localHeaderOffset + 30 + u16(header, 26) + u16(header, 28);
  if (start + entry.compressedSize > reader.size) throw damaged(`entry ${entry.name} runs past the end of the file`);
  return start;
}

/**
 * Streams one entry's inflated bytes to `onChunk`, at most `maxBytes` of them. Returns the bytes inflated, or
 * "limit" (the entry is larger than `maxBytes`) or "stopped" (onChunk asked to stop).
 */
export async function readEntry(
  reader: Reader,
  entry: ZipEntry,
  maxBytes: number,
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback that returns nothing or asks to stop
  onChunk: (chunk: Uint8Array) => void | "stop",
): Promise<number | "limit" | "stopped"> {
  if (entry.flags & 1) throw new DetectError("password_protected", `the archive's entry ${entry.name} is encrypted`);
  const start = await dataOffset(reader, entry);
  const body = reader.stream(start, entry.compressedSize);
  if (entry.method === 8) return inflate(body, "deflate-raw", maxBytes, reader.work, onChunk);
  if (entry.method !== 0) throw damaged(`entry ${entry.name} uses compression method ${entry.method}`);
  const stream = body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await stream.read();
      if (done) return total;
      const room = maxBytes - total;
      if (value.length > room) {
        if (room > 0) onChunk(value.subarray(0, room));
        return "limit";
      }
      total += value.length;
      if (onChunk(value) === "stop") return "stopped";
    }
  } finally {
    stream.cancel().catch(() => undefined);
  }
}

/** A small entry's text (UTF-8), or null when it inflates past `maxBytes`. */
export async function readEntryText(reader: Reader, entry: ZipEntry, maxBytes: number): Promise<string | null> {
  const decoder = new TextDecoder();
  let text = "";
  const result = await readEntry(reader, entry, maxBytes, (chunk) => {
    text += decoder.decode(chunk, { stream: true });
  });
  if (result === "limit") return null;
  return text + decoder.decode();
}

/** What looks at an entry's inflated bytes as inflateAll goes (it may throw a DetectError to refuse). */
export interface EntrySink {
  write(chunk: Uint8Array): void;
  end(): void;
}

/** Entries up to this compressed size may go to a SmallInflater (their bytes come from the reader's cache). */
export const SMALL_ENTRY_BYTES = 64 * 1024;

/**
 * Inflates one whole raw-deflate entry held in memory: its inflated bytes, or undefined to leave the entry to the
 * streaming path (damaged data, data past the deflate stream's end, more than `maxBytes` or than the inflater
 * holds at once): that path's verdict is the final one.
 */
export type SmallInflater = (compressed: Uint8Array, maxBytes: number) => Promise<Uint8Array | undefined>;

/**
 * The converter's check on the real bytes: inflates every entry with one byte counter across the archive and
 * stops at the cap. Throws DetectError("zip_bomb") past the cap (or past the ratio), "corrupt" on bad data.
 * `inspect` may watch each entry's bytes on the way (the entity budget of markup parts).
 */
export async function inflateAll(
  reader: Reader,
  dir: ZipDirectory,
  inspect?: (entry: ZipEntry) => EntrySink | null,
  inflateSmall?: SmallInflater,
): Promise<number> {
  const { maxInflatedBytes, ratioFloorBytes, maxRatio } = ZIP_LIMITS;
  const cap = Math.min(maxInflatedBytes, Math.max(ratioFloorBytes, reader.size * maxRatio));
  let total = 0;
  for (const entry of dir.entries) {
    if (entry.flags & 1) continue; // encrypted entries (ODF with a password) are LibreOffice's to refuse
    if (entry.name.endsWith("/") && entry.compressedSize === 0) continue;
    const sink = inspect?.(entry) ?? null;
    const inflated =
      inflateSmall && entry.method === 8 && entry.compressedSize <= SMALL_ENTRY_BYTES
        ? await inflateInMemory(reader, entry, cap - total, inflateSmall)
        : undefined;
    if (inflated !== undefined) sink?.write(inflated);
    const result =
      inflated !== undefined
        ? inflated.length
        : await readEntry(reader, entry, cap - total, sink ? (chunk) => sink.write(chunk) : () => undefined);
    if (result === "limit" || result === "stopped") {
      throw new DetectError(
        "zip_bomb",
        `the archive inflates past ${cap} bytes (limit ${maxInflatedBytes}, at most ${maxRatio}× its size); stopped at entry ${entry.name}`,
      );
    }
    sink?.end();
    total += result;
  }
  return total;
}

async function inflateInMemory(
  reader: Reader,
  entry: ZipEntry,
  maxBytes: number,
  inflateSmall: SmallInflater,
): Promise<Uint8Array | undefined> {
  const compressed = await reader.read(await dataOffset(reader, entry), entry.compressedSize);
  if (compressed.length !== entry.compressedSize || maxBytes <= 0) return undefined;
  const inflated = await inflateSmall(compressed, maxBytes);
  if (inflated === undefined || inflated.length > maxBytes) return undefined;
  reader.work.inflated += inflated.length;
  return inflated;
}
