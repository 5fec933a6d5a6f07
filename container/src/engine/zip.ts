// A streaming ZIP writer for multi-file results, with node: built-ins only. (Reading archives is the
// detector's: container/src/detect/zip.ts.)

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { crc32, deflateRawSync } from "node:zlib";

export interface ZipSource {
  /** Name inside the archive. */
  name: string;
  /** File on disk to add. */
  path: string;
  /** Already compressed formats (PNG, JPEG) are stored; text deflates well. */
  compress: boolean;
}

const DOS_EPOCH_DATE = ((1980 - 1980) << 9) | (1 << 5) | 1; // 1980-01-01: a fixed date keeps outputs reproducible.

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
