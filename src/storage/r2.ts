// Where things live in R2, and moving bytes in and out without holding them in memory.
import { sanitizeFileName } from "../domain/file-names";
import { ApiError } from "../errors";
import { evaluatePreconditions, selectRange, type Validators } from "./conditional-requests";

export const UPLOADS_PREFIX = "uploads/";
export const uploadKey = (accountId: string, fileId: string) => `${UPLOADS_PREFIX}${accountId}/${fileId}`;
/** The file id an upload's key ends with. */
export const fileIdOfUploadKey = (key: string) => key.slice(key.lastIndexOf("/") + 1);
/** A job's output, under the claim (attempt) that wrote it: a stale attempt never writes over the winner's. */
export const outputKey = (accountId: string, jobId: string, attempt: number, fileName: string) =>
  `outputs/${accountId}/${jobId}/${attempt}/${fileName}`;

/** Stores a stream of known length (R2 needs the length up front). */
export async function putStream(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
  contentType: string,
): Promise<R2Object> {
  // pipeTo, not pipeThrough: a source that breaks off rejects here, where the put's failure is handled.
  const sized = new FixedLengthStream(length);
  const [object] = await Promise.all([
    bucket.put(key, sized.readable, { httpMetadata: { contentType } }),
    body.pipeTo(sized.writable),
  ]);
  if (!object) throw new Error(`R2 refused ${key}`);
  return object;
}

/**
 * A download response for an R2 object, with RFC 9110's conditional and range semantics (see
 * conditional-requests.ts): 304 / 412 for validators, 206 / 416 for a Range, 200 with the whole file for a
 * Range that must be ignored; HEAD answers the headers without opening the body. Always an attachment, with
 * headers that keep converted HTML from running script on our origin. Null when the object does not exist;
 * 412 and 416 are thrown as ApiError, so the app answers them in the envelope of the route's family.
 *
 * R2 is never handed the request's headers: it throws on some malformed ones. Conditional and range requests
 * read the object's metadata first (`head`), decide here, then read only the bytes sent, guarded by the ETag
 * the decision was made on.
 */
export async function serveObject(
  bucket: R2Bucket,
  key: string,
  request: Request,
  fileName: string,
  contentType: string,
): Promise<Response | null> {
  const method = request.method;
  if (method === "GET" && !CONDITIONAL_FIELDS.some((f) => request.headers.has(f))) {
    const object = await bucket.get(key);
    if (!object) return null;
    const headers = downloadHeaders(object, fileName, contentType);
    headers.set("Content-Length", String(object.size));
    return new Response(object.body, { status: 200, headers });
  }
  // Twice at most: an object replaced between the decision and the read is judged again.
  for (let attempt = 0; attempt < 2; attempt++) {
    const meta = await bucket.head(key);
    if (!meta) return null;
    const validators: Validators = { etag: meta.httpEtag, lastModified: meta.uploaded.getTime() };
    const headers = downloadHeaders(meta, fileName, contentType);
    const precondition = evaluatePreconditions(method, request.headers, validators);
    if (precondition === "not_modified")
      return new Response(null, { status: 304, headers: notModifiedHeaders(headers) });
    if (precondition === "precondition_failed") {
      throw new ApiError(
        "download.precondition_failed",
        "the file does not match the request's If-Match or If-Unmodified-Since",
        { etag: meta.httpEtag },
      );
    }
    if (method === "HEAD") {
      headers.set("Content-Length", String(meta.size));
      return new Response(null, { status: 200, headers });
    }
    const range = selectRange(method, request.headers, meta.size, validators);
    if (range.kind === "unsatisfiable") {
      throw new ApiError(
        "download.range_not_satisfiable",
        `the requested range is outside the file's ${meta.size} bytes`,
        { size: meta.size },
        { "Content-Range": `bytes */${meta.size}` },
      );
    }
    const object = await bucket.get(key, {
      onlyIf: { etagMatches: meta.etag },
      ...(range.kind === "partial" ? { range: { offset: range.offset, length: range.length } } : {}),
    });
    if (!object) return null;
    if (!("body" in object)) continue;
    if (range.kind === "partial") {
      headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${meta.size}`);
      headers.set("Content-Length", String(range.length));
      return new Response(object.body, { status: 206, headers });
    }
    headers.set("Content-Length", String(meta.size));
    return new Response(object.body, { status: 200, headers });
  }
  throw new Error(`${key} changed while it was being served`);
}

const CONDITIONAL_FIELDS = ["range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"];

function downloadHeaders(object: R2Object, fileName: string, contentType: string): Headers {
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("Content-Type", contentType);
  headers.set("ETag", object.httpEtag);
  headers.set("Last-Modified", object.uploaded.toUTCString());
  headers.set("Accept-Ranges", "bytes");
  headers.set("Cache-Control", "private, max-age=3600");
  // Always an attachment: converted HTML must never render on the API's origin.
  headers.set("Content-Disposition", contentDisposition(fileName));
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Content-Security-Policy", "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'");
  return headers;
}

/** A 304 carries the validators and caching fields a 200 would have had, no representation metadata. */
function notModifiedHeaders(full: Headers): Headers {
  const headers = new Headers();
  for (const name of ["ETag", "Last-Modified", "Cache-Control"]) headers.set(name, full.get(name)!);
  return headers;
}

export function contentDisposition(fileName: string, kind: "inline" | "attachment" = "attachment"): string {
  // Names are sanitized when stored; again here for names stored before that, and for derived ones.
  const name = sanitizeFileName(fileName);
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${rfc8187Encode(name)}`;
}

/** RFC 8187 value-chars: attr-char or %XX. encodeURIComponent also leaves ' ( ) * unescaped, which attr-char excludes. */
function rfc8187Encode(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// R2 multipart parts must be at least 5 MiB (all but the last) and equal in size; 5 MiB parts hold 10,000 × 5 MiB,
// far beyond any request body the platform accepts, while keeping one part's buffer small.
export const PART_SIZE_BYTES = 5 * 1024 * 1024;
const FIRST_BUFFER_BYTES = 64 * 1024;
// Past this the buffer goes straight to a whole part: doubling on to 5 MiB would copy 4 MiB into a new 5 MiB
// buffer and leave ~4 MiB behind for the collector, per upload (bench/README.md, memory).
const LAST_DOUBLING_BYTES = 1024 * 1024;

/**
 * An object written from a stream of unknown length without holding it whole: bytes gather in one buffer (64 KiB,
 * doubling up to 1 MiB, then one part); an object that fits is stored with one `put` (`complete`), a larger one goes
 * out as an R2 multipart upload of equal 5 MiB parts as each fills. `abort` leaves nothing behind either way.
 */
export class ObjectWriter {
  readonly key: string;
  private readonly bucket: R2Bucket;
  private readonly customMetadata: Record<string, string>;
  private readonly partSize: number;
  private buffer = new Uint8Array(0);
  private filled = 0;
  private upload: R2MultipartUpload | null = null;
  private readonly parts: R2UploadedPart[] = [];
  private stored = false;
  size = 0;

  constructor(bucket: R2Bucket, key: string, customMetadata: Record<string, string> = {}, partSize = PART_SIZE_BYTES) {
    this.bucket = bucket;
    this.key = key;
    this.customMetadata = customMetadata;
    this.partSize = partSize;
  }

  /** True once the bytes went to R2 as a multipart upload; until then `bytes` holds all of them. */
  get spilled(): boolean {
    return this.upload !== null;
  }

  get bytes(): Uint8Array {
    return this.buffer.subarray(0, this.filled);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      // A full part with more bytes to come is not the last part: it goes out now.
      if (this.filled === this.partSize) await this.flushPart();
      if (this.filled === this.buffer.length) this.grow();
      const take = Math.min(this.buffer.length - this.filled, chunk.length - at);
      this.buffer.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
    }
  }

  /** Stores what was written: one put (with its SHA-256 for R2 to verify), or the last part and completion. */
  async complete(sha256Hex?: string): Promise<void> {
    if (this.upload) {
      if (this.filled > 0) await this.flushPart();
      await this.upload.complete(this.parts);
    } else {
      await this.bucket.put(this.key, this.bytes, {
        customMetadata: this.customMetadata,
        ...(sha256Hex ? { sha256: sha256Hex } : {}),
      });
    }
    this.stored = true;
    this.buffer = new Uint8Array(0);
    this.filled = 0;
  }

  /** Removes every trace: aborts the multipart upload, or deletes the object if it was stored. */
  async abort(): Promise<void> {
    this.buffer = new Uint8Array(0);
    this.filled = 0;
    if (this.stored) await this.bucket.delete(this.key);
    else if (this.upload) await this.upload.abort();
  }

  /** Bytes of memory the buffer holds now. */
  get bufferBytes(): number {
    return this.buffer.length;
  }

  private grow(): void {
    // Small files stay small; the buffer doubles up to 1 MiB, then takes one part's size and is reused for every
    // part: memory follows the bytes received (a sender that stalls after 64 KiB holds 128 KiB of the isolate,
    // not 5 MiB), and a large file leaves little garbage behind its growth.
    const doubled = Math.max(FIRST_BUFFER_BYTES, this.buffer.length * 2);
    const next = new Uint8Array(Math.min(this.partSize, doubled > LAST_DOUBLING_BYTES ? this.partSize : doubled));
    next.set(this.bytes);
    this.buffer = next;
  }

  private async flushPart(): Promise<void> {
    this.upload ??= await this.bucket.createMultipartUpload(this.key, { customMetadata: this.customMetadata });
    // A part is uploaded before the buffer is reused; only the last part may be shorter than the others.
    this.parts.push(await this.upload.uploadPart(this.parts.length + 1, this.bytes));
    this.filled = 0;
  }
}

// R2 requests one detection of a stored upload may make. Real files need tens; a structure scattered so that
// every step misses the detector's cache (an OLE2 directory chain cycling through more blocks than it keeps) took
// thousands, near the platform's subrequest limit for one request.
const DETECTION_MAX_READS = 1024;

/** Range reads of a stored object, for reading its structure (the detector's ByteSource). */
export function objectRanges(
  bucket: R2Bucket,
  key: string,
  size: number,
): {
  size: number;
  maxReads: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  stream(offset: number, length: number): ReadableStream<Uint8Array>;
} {
  const get = async (offset: number, length: number) => {
    const object = await bucket.get(key, { range: { offset, length } });
    if (!object) throw new Error(`${key} vanished while it was read`);
    return object;
  };
  return {
    size,
    maxReads: DETECTION_MAX_READS,
    async read(offset, length) {
      const clipped = Math.max(0, Math.min(length, size - offset));
      if (clipped === 0) return new Uint8Array(0);
      return new Uint8Array(await (await get(offset, clipped)).arrayBuffer());
    },
    stream(offset, length) {
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!reader) {
            const clipped = Math.max(0, Math.min(length, size - offset));
            if (clipped === 0) return controller.close();
            reader = (await get(offset, clipped)).body.getReader();
          }
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel(reason) {
          return reader?.cancel(reason);
        },
      });
    },
  };
}
