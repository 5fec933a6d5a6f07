// The PPM → PNG encoder: exact pixels back, greyscale when the page has no colour.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { ppmToPng } from "../src/engine/png.ts";
import { checkPng } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "docconv-png-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ppm(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const header = Buffer.from(`P6\n${width} ${height}\n255\n`, "latin1");
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  return Buffer.concat([header, data]);
}

/** Pixels of a filter-0 PNG (what our encoder writes), as RGB. */
function pixels(png: Buffer): Buffer {
  const { width, height, channels, scanlines } = checkPng(png);
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * channels);
    expect(scanlines[row]).toBe(0);
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++)
        out[(y * width + x) * 3 + c] = scanlines[row + 1 + x * channels + (channels === 3 ? c : 0)]!;
    }
  }
  return out;
}

test.each([
  ["colour", 300, 211, (x: number, y: number) => [x % 256, y % 256, (x * y) % 256] as [number, number, number], 3],
  [
    "grey",
    257,
    3001,
    (x: number, y: number) => [(x + y) % 256, (x + y) % 256, (x + y) % 256] as [number, number, number],
    1,
  ],
])("%s pages come back pixel for pixel", async (_name, width, height, pixel, channels) => {
  const source = ppm(width, height, pixel);
  writeFileSync(join(dir, "in.ppm"), source);
  await ppmToPng(join(dir, "in.ppm"), join(dir, "out.png"), 150);
  const png = readFileSync(join(dir, "out.png"));
  expect(checkPng(png).channels).toBe(channels);
  expect(pixels(png).equals(source.subarray(source.length - width * height * 3))).toBe(true);
});

test("a truncated PPM is refused", async () => {
  writeFileSync(join(dir, "cut.ppm"), ppm(10, 10, () => [1, 2, 3]).subarray(0, 200));
  await expect(ppmToPng(join(dir, "cut.ppm"), join(dir, "cut.png"), 150)).rejects.toThrow(/truncated/);
});
