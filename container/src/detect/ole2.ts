// OLE2 compound files (doc, xls, ppt, encrypted OOXML…): the names of the root storage's children, read by
// walking the directory stream's sector chain through the FAT (DIFAT chain included), then the directory's
// red-black tree from the root entry. Every walk is bounded and loop-checked.

import { DetectError, type Reader } from "./source.ts";

const FREE_OR_END = 0xfffffffa; // values from here up are special (MAXREGSECT + 1)
const MAX_DIRECTORY_SECTORS = 8192;
const MAX_DIRECTORY_BYTES = 4 * 1024 * 1024;
const MAX_DIFAT_SECTORS = 4096;

const u16 = (b: Uint8Array, p: number) => b[p]! | (b[p + 1]! << 8);
const u32 = (b: Uint8Array, p: number) => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;

function damaged(detail: string): DetectError {
  return new DetectError("corrupt", `the file is a damaged OLE2 compound document (${detail})`);
}

export interface RootDirectory {
  /** Names of the streams and storages directly under the root, as written (case kept). */
  names: string[];
  /** The root entry's class id as 32 hex digits in file byte order (what the writing application stamped). */
  classId: string;
}

export async function rootDirectory(reader: Reader): Promise<RootDirectory> {
  const header = await reader.read(0, 512);
  if (header.length < 512) throw damaged("shorter than its header");
  const shift = u16(header, 0x1e);
  if (shift !== 9 && shift !== 12) throw damaged(`sector size 2^${shift}`);
  const sectorSize = 1 << shift;
  const perSector = sectorSize / 4;
  const sectorOffset = (n: number) => (n + 1) * sectorSize;

  const difat: number[] = [];
  for (let i = 0; i < 109; i++) difat.push(u32(header, 0x4c + i * 4));
  let nextDifat = u32(header, 0x44);
  const seenDifat = new Set<number>();
  const fatSectorOf = async (fatIndex: number): Promise<number> => {
    while (fatIndex >= difat.length && nextDifat < FREE_OR_END) {
      if (seenDifat.has(nextDifat) || seenDifat.size >= MAX_DIFAT_SECTORS) throw damaged("a DIFAT chain that loops");
      seenDifat.add(nextDifat);
      const sector = await reader.read(sectorOffset(nextDifat), sectorSize);
      if (sector.length < sectorSize) throw damaged("a DIFAT sector past the end of the file");
      for (let i = 0; i < perSector - 1; i++) difat.push(u32(sector, i * 4));
      nextDifat = u32(sector, (perSector - 1) * 4);
    }
    const location = difat[fatIndex];
    if (location === undefined || location >= FREE_OR_END) throw damaged("a FAT sector the DIFAT does not list");
    return location;
  };
  const next = async (sector: number): Promise<number> => {
    const location = await fatSectorOf(Math.floor(sector / perSector));
    const entry = await reader.read(sectorOffset(location) + (sector % perSector) * 4, 4);
    if (entry.length < 4) throw damaged("a FAT sector past the end of the file");
    return u32(entry, 0);
  };

  // The directory stream: 128-byte entries along its sector chain.
  const entries: { name: string; type: number; left: number; right: number; child: number; classId: string }[] = [];
  const seen = new Set<number>();
  for (let sector = u32(header, 0x30); sector < FREE_OR_END; sector = await next(sector)) {
    if (seen.has(sector)) throw damaged("a directory chain that loops");
    if (seen.size >= MAX_DIRECTORY_SECTORS || seen.size * sectorSize >= MAX_DIRECTORY_BYTES)
      throw damaged("a directory too large to be real");
    seen.add(sector);
    const data = await reader.read(sectorOffset(sector), sectorSize);
    if (data.length < sectorSize) throw damaged("a directory sector past the end of the file");
    for (let p = 0; p + 128 <= data.length; p += 128) {
      const nameLength = u16(data, p + 0x40);
      let name = "";
      for (let i = 0; i + 1 < Math.min(nameLength, 64) - 1; i += 2) name += String.fromCharCode(u16(data, p + i));
      const classId = entries.length === 0 ? hex(data.subarray(p + 0x50, p + 0x60)) : "";
      entries.push({
        name,
        type: data[p + 0x42]!,
        left: u32(data, p + 0x44),
        right: u32(data, p + 0x48),
        child: u32(data, p + 0x4c),
        classId,
      });
    }
  }
  const root = entries[0];
  if (root?.type !== 5) throw damaged("no root entry");

  // The root's children form a tree through left/right siblings.
  const names: string[] = [];
  const visited = new Set<number>();
  const stack = [root.child];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id >= FREE_OR_END || id >= entries.length || visited.has(id)) continue;
    visited.add(id);
    const entry = entries[id]!;
    if (entry.type === 1 || entry.type === 2) names.push(entry.name);
    stack.push(entry.left, entry.right);
  }
  return { names, classId: root.classId };
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
