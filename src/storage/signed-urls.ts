// Download URLs signed by the Worker: HMAC-SHA256 over what is served (object, name, type) and until when.
// They work wherever the Worker runs, local dev included, unlike R2's S3 presigned URLs.
import { ApiError } from "../errors";

export interface DownloadGrant {
  key: string;
  fileName: string;
  contentType: string;
  expiresAt: number; // ms since epoch
}

const encoder = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Unpadded base64url only, the one spelling b64url writes: a link has one form (no `=`, no `+` or `/`). */
function fromB64url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new Error("not canonical base64url");
  const bytes = Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  if (b64url(bytes) !== s) throw new Error("not canonical base64url");
  return bytes;
}

// Imported once per isolate and secret: signing is on the cache-hit path of every rendition.
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    hmacKeys.set(secret, key);
  }
  return key;
}

export async function signDownloadToken(secret: string, grant: DownloadGrant): Promise<string> {
  const payload = b64url(
    encoder.encode(
      JSON.stringify({ k: grant.key, n: grant.fileName, t: grant.contentType, e: Math.floor(grant.expiresAt / 1000) }),
    ),
  );
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(payload)));
  return `${payload}.${b64url(signature)}`;
}

export async function signDownloadUrl(origin: string, secret: string, grant: DownloadGrant): Promise<string> {
  return `${origin}/v1/downloads/${await signDownloadToken(secret, grant)}`;
}

/** The grant a token carries; tampered → download.invalid_signature, past its time → download.expired. */
export async function verifyDownloadToken(secret: string, token: string, now = Date.now()): Promise<DownloadGrant> {
  const [payload, signature, ...rest] = token.split(".");
  if (!payload || !signature || rest.length)
    throw new ApiError("download.invalid_signature", "the download link is malformed");
  let valid = false;
  try {
    valid = await crypto.subtle.verify("HMAC", await hmacKey(secret), fromB64url(signature), encoder.encode(payload));
  } catch {
    valid = false;
  }
  if (!valid) throw new ApiError("download.invalid_signature", "the download link's signature does not match");
  const claims = JSON.parse(new TextDecoder().decode(fromB64url(payload))) as {
    k: string;
    n: string;
    t: string;
    e: number;
  };
  if (claims.e * 1000 <= now) {
    throw new ApiError("download.expired", "the download link has expired; request a new one", {
      expiredAt: new Date(claims.e * 1000).toISOString(),
    });
  }
  return { key: claims.k, fileName: claims.n, contentType: claims.t, expiresAt: claims.e * 1000 };
}
