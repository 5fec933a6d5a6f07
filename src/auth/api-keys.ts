// API keys: `sk_live_…` (deployed) or `sk_test_…` (local). Only the SHA-256 hex is stored.
import { randomToken } from "../ids";

export const KEY_PATTERN = /^sk_(live|test)_[0-9A-Za-z]{24,64}$/;

export function generateApiKey(mode: "live" | "test"): { key: string; prefix: string } {
  const key = `sk_${mode}_${randomToken(32)}`;
  return { key, prefix: key.slice(0, 12) };
}

export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return toHex(new Uint8Array(digest));
}

export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The key from `X-API-Key` or `Authorization: Bearer`, or null when neither header is present. */
export function readApiKey(headers: Headers): string | null {
  const direct = headers.get("x-api-key");
  if (direct) return direct.trim();
  const auth = headers.get("authorization");
  if (auth) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return match ? match[1]!.trim() : auth.trim();
  }
  return null;
}

/** Constant-time comparison of two equal-length hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  if (ea.byteLength !== eb.byteLength) return false;
  return crypto.subtle.timingSafeEqual(ea, eb);
}
