// Crafted hostile files shared by the detector's tests and the API's (which run in the Workers runtime: plain
// Uint8Array and DataView, no node: modules).

/**
 * An OLE2 file of `totalSectors` 512-byte sectors whose directory chain visits `blocks` 64 KiB blocks round-robin,
 * so a reader that caches fewer blocks misses on every step. Its root has no children (an unsupported kind).
 */
export function scatteredOle2(totalSectors: number, blocks: number): Uint8Array {
  const fatSectors = Math.ceil((totalSectors * 4) / 512);
  const file = new Uint8Array((totalSectors + 1) * 512);
  const view = new DataView(file.buffer);
  const u16 = (at: number, value: number) => view.setUint16(at, value, true);
  const u32 = (at: number, value: number) => view.setUint32(at, value, true);
  file.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 0);
  u16(0x18, 0x3e);
  u16(0x1a, 3);
  u16(0x1c, 0xfffe);
  u16(0x1e, 9); // 512-byte sectors
  u16(0x20, 6);
  u32(0x2c, fatSectors);
  u32(0x44, 0xfffffffe); // no DIFAT sectors: the header lists every FAT sector
  for (let i = 0; i < 109; i++) u32(0x4c + i * 4, i < fatSectors ? i : 0xffffffff);
  const sectorsPerBlock = 128;
  const chain: number[] = [];
  for (let k = 0; Math.floor(k / blocks) < sectorsPerBlock; k++) {
    const sector = fatSectors + sectorsPerBlock + (k % blocks) * sectorsPerBlock + Math.floor(k / blocks);
    if (sector >= totalSectors) break;
    chain.push(sector);
  }
  const fat = (n: number, value: number) => u32(512 + n * 4, value);
  for (let n = 0; n < totalSectors; n++) fat(n, n < fatSectors ? 0xfffffffd : 0xffffffff);
  chain.forEach((sector, i) => fat(sector, i + 1 < chain.length ? chain[i + 1]! : 0xfffffffe));
  u32(0x30, chain[0]!);
  const root = (chain[0]! + 1) * 512;
  "Root Entry".split("").forEach((c, i) => u16(root + i * 2, c.charCodeAt(0)));
  u16(root + 0x40, 22);
  file[root + 0x42] = 5;
  for (const at of [0x44, 0x48, 0x4c]) u32(root + at, 0xffffffff);
  return file;
}
