// Where things live in R2, and moving bytes in and out without holding them in memory.

export const uploadKey = (accountId: string, fileId: string) => `uploads/${accountId}/${fileId}`;
export const outputKey = (accountId: string, jobId: string, fileName: string) => `outputs/${accountId}/${jobId}/${fileName}`;

/** Stores a stream of known length (R2 needs the length up front). */
export async function putStream(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>, length: number, contentType: string): Promise<R2Object> {
  // pipeTo, not pipeThrough: a source that breaks off rejects here, where the put's failure is handled.
  const sized = new FixedLengthStream(length);
  const [object] = await Promise.all([bucket.put(key, sized.readable, { httpMetadata: { contentType } }), body.pipeTo(sized.writable)]);
  if (!object) throw new Error(`R2 refused ${key}`);
  return object;
}

/**
 * A download response for an R2 object: Range, ETag/If-None-Match, attachment disposition, and headers that
 * keep converted HTML from running script on our origin.
 */
export async function serveObject(bucket: R2Bucket, key: string, request: Request, fileName: string, contentType: string): Promise<Response | null> {
  const object = await bucket.get(key, { range: request.headers, onlyIf: request.headers });
  if (!object) return null;
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("Content-Type", contentType);
  headers.set("ETag", object.httpEtag);
  headers.set("Accept-Ranges", "bytes");
  headers.set("Cache-Control", "private, max-age=3600");
  // Always an attachment: converted HTML must never render on the API's origin.
  headers.set("Content-Disposition", contentDisposition(fileName));
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Content-Security-Policy", "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'");
  if (!("body" in object) || !object.body) {
    // A failed precondition: If-None-Match matched.
    return new Response(null, { status: 304, headers });
  }
  const range = object.range as { offset?: number; length?: number; suffix?: number } | undefined;
  if (range && request.headers.has("range")) {
    const offset = range.suffix !== undefined ? object.size - range.suffix : (range.offset ?? 0);
    const length = range.suffix !== undefined ? range.suffix : (range.length ?? object.size - offset);
    headers.set("Content-Range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    headers.set("Content-Length", String(length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(object.size));
  return new Response(object.body, { status: 200, headers });
}

export function contentDisposition(fileName: string, kind: "inline" | "attachment" = "attachment"): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
