// A PNG decoder for the tests, independent of the converter's encoder (container/src/engine/png.ts): chunks
// parsed here, IDAT inflated with the runtime's DecompressionStream, scanlines unfiltered (all five filters).
// 8-bit greyscale, grey+alpha, RGB and RGBA, not interlaced — what pdftoppm-based rendering produces. Pixels
// come back as RGB, so a greyscale page compares with a colour one.

export interface DecodedPng {
  width: number;
  height: number;
  /** width × height × 3 bytes, row by row. */
  rgb: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function decodePng(bytes: Uint8Array): Promise<DecodedPng> {
  if (!SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error("not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Uint8Array[] = [];
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      const depth = data[8]!;
      colorType = data[9]!;
      if (depth !== 8 || !(colorType in CHANNELS) || data[12] !== 0)
        throw new Error(`unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${data[12]}`);
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    offset += 12 + length;
  }
  const channels = CHANNELS[colorType]!;
  const stride = width * channels;
  const raw = await inflate(concat(idat));
  if (raw.length !== height * (stride + 1))
    throw new Error(`PNG data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) predictor = paeth(a, b, c);
      else if (filter !== 0) throw new Error(`unknown PNG filter ${filter}`);
      out[x] = (line[x]! + predictor) & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const p = i * channels;
    const grey = channels < 3;
    rgb[i * 3] = pixels[p]!;
    rgb[i * 3 + 1] = grey ? pixels[p]! : pixels[p + 1]!;
    rgb[i * 3 + 2] = grey ? pixels[p]! : pixels[p + 2]!;
  }
  return { width, height, rgb };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** How two same-sized images differ: the share of pixels off by more than `threshold` in a channel, the mean |Δ|. */
export function difference(
  a: DecodedPng,
  b: DecodedPng,
  threshold = 32,
): { differingShare: number; meanAbsDelta: number } {
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  let differing = 0;
  let total = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    let worst = 0;
    for (let k = 0; k < 3; k++) {
      const d = Math.abs(a.rgb[i * 3 + k]! - b.rgb[i * 3 + k]!);
      total += d;
      if (d > worst) worst = d;
    }
    if (worst > threshold) differing++;
  }
  return { differingShare: differing / (a.width * a.height), meanAbsDelta: total / (a.width * a.height * 3) };
}

/** The share of pixels that are not near-white: a blank render is not a match for anything. */
export function inkShare(img: DecodedPng): number {
  let ink = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    if (img.rgb[i * 3]! < 200 || img.rgb[i * 3 + 1]! < 200 || img.rgb[i * 3 + 2]! < 200) ink++;
  }
  return ink / (img.width * img.height);
}
