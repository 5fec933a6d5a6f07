// Minimal ZIP support with node: built-ins only: a streaming writer for multi-file results and a reader of
// entry names (central directory, or local headers when the archive is truncated) for format detection.

import { createWriteStream } from "node:fs";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { once } from "node:events";
import { crc32, deflateRawSync, inflateRawSync } from "node:zlib";

export interface ZipSource {
  /** Name inside the archive. */
  name: string;
  /** File on disk to add. */
  path: string;
  /** Already compressed formats (PNG, JPEG) are stored; text deflates well. */
  compress: boolean;
}

const DOS_EPOCH_DATE = (1980 - 1980) << 9 | 1 << 5 | 1; // 1980-01-01: a fixed date keeps outputs reproducible.

/** Writes `entries` into a new ZIP at `zipPath`, one entry in memory at a time. */
export async function writeZip(zipPath: string, entries: readonly ZipSource[]): Promise<void> {
  if (entries.length >= 0xffff) throw new Error("too many entries for a ZIP without ZIP64");
  const out = createWriteStream(zipPath);
  const central: Buffer[] = [];
  let offset = 0;
  const write = async (chunk: Buffer) => {
    if (!out.write(chunk)) await once(out, "drain");
    offset += chunk.length;
  };
  try {
    for (const entry of entries) {
      const raw = await readFile(entry.path);
      const data = entry.compress ? deflateRawSync(raw) : raw;
      const method = entry.compress ? 8 : 0;
      const crc = crc32(raw);
      const name = Buffer.from(entry.name, "utf8");
      if (offset + data.length + 30 + name.length >= 0xffffffff) throw new Error("ZIP larger than 4 GB");
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed
      local.writeUInt16LE(0x0800, 6); // UTF-8 names
      local.writeUInt16LE(method, 8);
      local.writeUInt16LE(0, 10); // time
      local.writeUInt16LE(DOS_EPOCH_DATE, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(data.length, 18);
      local.writeUInt32LE(raw.length, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE(0x031e, 4); // made by: Unix, 3.0
      header.writeUInt16LE(20, 6);
      header.writeUInt16LE(0x0800, 8);
      header.writeUInt16LE(method, 10);
      header.writeUInt16LE(0, 12);
      header.writeUInt16LE(DOS_EPOCH_DATE, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(data.length, 20);
      header.writeUInt32LE(raw.length, 24);
      header.writeUInt16LE(name.length, 28);
      header.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: a regular rw-r--r-- file
      header.writeUInt32LE(offset, 42);
      central.push(header, name);
      await write(local);
      await write(name);
      await write(data);
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    await write(directory);
    await write(end);
  } finally {
    out.end();
    await once(out, "close");
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  /** Offset of the local header. */
  offset: number;
}

/**
 * Entry names of a ZIP. Reads the central directory; when it is missing (a truncated upload), walks the
 * local headers from the start instead, so a cut-off docx is still recognised as a docx.
 */
export async function readZipEntries(path: string): Promise<{ entries: ZipEntry[]; complete: boolean }> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const central = await readCentralDirectory(handle, size);
    if (central) return { entries: central, complete: true };
    return { entries: await walkLocalHeaders(handle, size), complete: false };
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

async function readCentralDirectory(handle: FileHandle, size: number): Promise<ZipEntry[] | undefined> {
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = await readAt(handle, size - tailLength, tailLength);
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > tail.length) return undefined;
  const count = tail.readUInt16LE(eocd + 10);
  const dirSize = tail.readUInt32LE(eocd + 12);
  const dirOffset = tail.readUInt32LE(eocd + 16);
  if (dirOffset + dirSize > size || dirSize > 64 * 1024 * 1024) return undefined;
  const dir = await readAt(handle, dirOffset, dirSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== 0x02014b50) return undefined;
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const commentLength = dir.readUInt16LE(p + 32);
    entries.push({
      name: dir.toString("utf8", p + 46, p + 46 + nameLength),
      method: dir.readUInt16LE(p + 10),
      compressedSize: dir.readUInt32LE(p + 20),
      offset: dir.readUInt32LE(p + 42),
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

async function walkLocalHeaders(handle: FileHandle, size: number): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  let p = 0;
  while (p + 30 <= size && entries.length < 10_000) {
    const header = await readAt(handle, p, 30);
    if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) break;
    const flags = header.readUInt16LE(6);
    const nameLength = header.readUInt16LE(26);
    const extraLength = header.readUInt16LE(28);
    const compressedSize = header.readUInt32LE(18);
    const name = (await readAt(handle, p + 30, nameLength)).toString("utf8");
    entries.push({ name, method: header.readUInt16LE(8), compressedSize, offset: p });
    // With a data descriptor the size is unknown here; the names seen so far must do.
    if (flags & 0x08) break;
    p += 30 + nameLength + extraLength + compressedSize;
  }
  return entries;
}

/** The bytes of one (small) entry, or undefined when it cannot be read. */
export async function readZipEntry(path: string, entry: ZipEntry, maxBytes = 1024 * 1024): Promise<Buffer | undefined> {
  if (entry.compressedSize > maxBytes) return undefined;
  const handle = await open(path, "r");
  try {
    const header = await readAt(handle, entry.offset, 30);
    if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) return undefined;
    const start = entry.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const data = await readAt(handle, start, entry.compressedSize);
    if (entry.method === 0) return data;
    if (entry.method === 8) return inflateRawSync(data, { maxOutputLength: maxBytes * 8 });
    return undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
