import { toHex } from "./digests";

// Identifiers: UUIDv7 for jobs (time-ordered, so cursors and indexes follow creation), prefixed random ids elsewhere.

// Monotonic, RFC 9562 §6.2 method 1: within one millisecond a 12-bit counter in rand_a orders the ids this isolate
// makes, seeded at random below 2^11 so it has room to count; should it overflow, the timestamp moves on by one.
// It matters on Workers: the clock stands still during a request (Date.now() moves only after I/O), so a
// batch's ids share one millisecond and only the counter keeps them in the order they were made. A clock that
// steps back keeps the last timestamp. Isolates do not share the counter: ids made in the same millisecond by two
// isolates order at random, as RFC 9562 allows. The 62 bits of rand_b stay random.
let lastMs = -1;
let counter = 0;

export function uuidv7(now = Date.now()): string {
  let ms = Math.max(now, lastMs);
  if (ms === lastMs && counter < 0xfff) {
    counter++;
  } else {
    if (ms === lastMs) ms++;
    counter = crypto.getRandomValues(new Uint16Array(1))[0]! & 0x7ff;
  }
  lastMs = ms;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const time = BigInt(ms);
  for (let i = 0; i < 6; i++) bytes[i] = Number((time >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

export function randomToken(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  // 62 does not divide 256: the bias is negligible for identifiers and keys of this length.
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}

export type IdPrefix = "file" | "usr" | "wks" | "key" | "led" | "whk" | "dlv" | "evt" | "att";

export function prefixedId(prefix: IdPrefix): string {
  return `${prefix}_${randomToken(20)}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export function isUuidV7(id: string): boolean {
  return UUID_RE.test(id);
}
