// Names of the streams in an OLE2 compound file (doc, xls, ppt, and encrypted OOXML), read straight from the
// directory sectors so detection never loads the whole file.

import { open, type FileHandle } from "node:fs/promises";

export const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

const END_OF_CHAIN = 0xfffffffe;
const MAX_SECTORS_WALKED = 4096;

export async function cfbStreamNames(path: string): Promise<string[]> {
  const handle = await open(path, "r");
  try {
    return await readNames(handle);
  } finally {
    await handle.close();
  }
}

async function readNames(handle: FileHandle): Promise<string[]> {
  const header = Buffer.alloc(512);
  const { bytesRead } = await handle.read(header, 0, 512, 0);
  if (bytesRead < 512 || !header.subarray(0, 8).equals(CFB_MAGIC)) return [];
  const sectorShift = header.readUInt16LE(0x1e);
  if (sectorShift !== 9 && sectorShift !== 12) return [];
  const sectorSize = 1 << sectorShift;
  const perSector = sectorSize / 4;
  const firstDirSector = header.readUInt32LE(0x30);
  let difatSector = header.readUInt32LE(0x44);

  const difat: number[] = [];
  for (let i = 0; i < 109; i++) difat.push(header.readUInt32LE(0x4c + i * 4));
  const readSector = async (n: number): Promise<Buffer | undefined> => {
    const buffer = Buffer.alloc(sectorSize);
    const { bytesRead: got } = await handle.read(buffer, 0, sectorSize, (n + 1) * sectorSize);
    return got === sectorSize ? buffer : undefined;
  };
  // FAT sectors beyond the first 109 are listed in a chain of DIFAT sectors; read it only when needed.
  const fatSectorLocation = async (index: number): Promise<number | undefined> => {
    let walked = 0;
    while (index >= difat.length && difatSector < END_OF_CHAIN && walked++ < MAX_SECTORS_WALKED) {
      const sector = await readSector(difatSector);
      if (!sector) return undefined;
      for (let i = 0; i < perSector - 1; i++) difat.push(sector.readUInt32LE(i * 4));
      difatSector = sector.readUInt32LE((perSector - 1) * 4);
    }
    return difat[index];
  };
  const fatCache = new Map<number, Buffer>();
  const next = async (sector: number): Promise<number> => {
    const fatIndex = Math.floor(sector / perSector);
    let fat = fatCache.get(fatIndex);
    if (!fat) {
      const location = await fatSectorLocation(fatIndex);
      if (location === undefined || location >= END_OF_CHAIN) return END_OF_CHAIN;
      fat = await readSector(location);
      if (!fat) return END_OF_CHAIN;
      fatCache.set(fatIndex, fat);
    }
    return fat.readUInt32LE((sector % perSector) * 4);
  };

  const names: string[] = [];
  let sector = firstDirSector;
  for (let walked = 0; sector < END_OF_CHAIN && walked < MAX_SECTORS_WALKED; walked++) {
    const data = await readSector(sector);
    if (!data) break;
    for (let p = 0; p + 128 <= data.length; p += 128) {
      const nameLength = data.readUInt16LE(p + 0x40);
      const type = data[p + 0x42];
      if (nameLength < 2 || nameLength > 64 || (type !== 1 && type !== 2)) continue;
      names.push(data.toString("utf16le", p, p + nameLength - 2));
    }
    sector = await next(sector);
  }
  return names;
}
