// API keys: `sk_live_…` (deployed) or `sk_test_…` (local). Only the SHA-256 hex is stored.
import { sha256Hex } from "../digests";
import { ApiError } from "../errors";
import { randomToken } from "../ids";

export const KEY_PATTERN = /^sk_(live|test)_[0-9A-Za-z]{24,64}$/;

export function generateApiKey(mode: "live" | "test"): { key: string; prefix: string } {
  const key = `sk_${mode}_${randomToken(32)}`;
  return { key, prefix: key.slice(0, 12) };
}

/** What api_keys.hash stores and the lookup compares: the key's hex SHA-256. */
export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

// `Authorization: Bearer <token68>` (RFC 9110 §11.4, RFC 6750): the scheme in any case, spaces, one token.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The key from `X-API-Key` or `Authorization: Bearer <key>`, or null when neither header is present. Throws
 * when `Authorization` is not exactly `Bearer <key>` (a bare key included: 401 saying how to send it), and
 * when the request carries two different keys (400): which one was meant cannot be guessed.
 */
export function readApiKey(headers: Headers): string | null {
  const keys = new Set<string>();
  // Repeated fields arrive joined by ", " (keys and token68 have no commas).
  for (const value of (headers.get("x-api-key") ?? "").split(",")) if (value.trim()) keys.add(value.trim());
  const authorization = headers.get("authorization");
  if (authorization?.trim()) {
    for (const credentials of authorization.split(",")) keys.add(bearerKey(credentials.trim()));
  }
  if (keys.size > 1) {
    throw new ApiError(
      "auth.conflicting_keys",
      "the request carries different API keys (X-API-Key and Authorization, or a repeated header); send one key",
    );
  }
  return keys.size ? [...keys][0]! : null;
}

function bearerKey(credentials: string): string {
  const match = BEARER.exec(credentials);
  if (match) return match[1]!;
  const scheme = credentials.split(/[ \t]/, 1)[0]!;
  const detail = /^bearer$/i.test(scheme)
    ? "Authorization: Bearer takes exactly one key: `Authorization: Bearer sk_live_…`"
    : !credentials.includes(" ")
      ? "the Authorization header has no scheme: send `Authorization: Bearer <key>`, or the key alone in `X-API-Key: <key>`"
      : `the Authorization scheme must be Bearer, not ${scheme.slice(0, 20)}: send \`Authorization: Bearer <key>\` or \`X-API-Key: <key>\``;
  throw new ApiError("auth.invalid_authorization", detail);
}

/** Constant-time comparison of two equal-length hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  if (ea.byteLength !== eb.byteLength) return false;
  return crypto.subtle.timingSafeEqual(ea, eb);
}
