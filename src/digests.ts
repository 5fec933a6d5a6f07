// Hex digests, written once: API-key hashes, Idempotency-Key request hashes, rendition cache keys, ETags, upload
// checksums, webhook signatures. No imports, so `npm run key` (Node with type stripping) hashes keys with it too.

export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Hex SHA-256 of a text's UTF-8 bytes. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
