import { toHex } from "./digests";

// Identifiers: UUIDv7 for jobs (time-ordered, so cursors and indexes follow creation), prefixed random ids elsewhere.

export function uuidv7(now = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const ms = BigInt(now);
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
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
