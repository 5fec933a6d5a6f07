// Taking an upload in, as it streams: the file name cleaned first (file-names.ts), then each chunk counted against
// the size limit, hashed (SHA-256, for Idempotency-Key), kept at the head and tail (for the detector) and written to R2
// (one put when it fits one buffer, else a multipart upload). The head is judged as soon as it is in (an image
// or unknown binary is refused before the rest arrives); the whole file by the shared detector once stored,
// reading bounded ranges only. A refused upload leaves nothing in R2; the D1 row is written by the caller once
// the whole request has been read, so nothing half-written remains either.

import {
  bytesSource,
  detect,
  HEAD_BYTES,
  type Refused,
  refuseFromHead,
  withKnownRanges,
} from "../../container/src/detect/index.ts";
import { deleteFile, type FileRow, insertFile } from "../db/files";
import { toHex } from "../digests";
import { ApiError } from "../errors";
import { prefixedId } from "../ids";
import { ObjectWriter, objectRanges, uploadKey } from "../storage/r2";
import { storedFileName } from "./file-names";
import { mediaTypeOf, sourceFormats } from "./formats";
import type { Services } from "./services";

// Cloudflare's request body limit on the Free and Pro plans (Business: 200 MB, Enterprise: 500 MB).
export const DEFAULT_MAX_FILE_SIZE_BYTES = 100 * 1024 * 1024;
// Multipart framing around the file(s): boundaries, part headers, the text fields.
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
// The bytes kept from the start and the end of an upload: what the detector reads most (headers, a zip's end
// records and central directory, a PDF's startxref and last xref), served without reading R2 back.
const KEEP_HEAD_BYTES = 64 * 1024;
const KEEP_TAIL_BYTES = 128 * 1024;

// A request body that sends nothing for UPLOAD_IDLE_TIMEOUT_SECONDS (a var; 30 s by default), or is not all in
// after UPLOAD_BODY_DEADLINE_MS, is refused and what it stored discarded: Cloudflare keeps a stalled body open.
export const DEFAULT_UPLOAD_IDLE_TIMEOUT_SECONDS = 30;
export const UPLOAD_BODY_DEADLINE_MS = 30 * 60 * 1000;
// An object under uploads/ this old with no `files` row belongs to a request that died between storing it and
// writing the row (the sweeper deletes it): longer than any request can take to send its body and write rows.
export const ORPHANED_UPLOAD_AFTER_MS = 2 * UPLOAD_BODY_DEADLINE_MS;

/** How long one read of an upload's body may wait for bytes, and the whole body may take. */
export interface BodyTimeouts {
  idleMs: number;
  totalMs: number;
}

export function uploadTimeouts(env: Env): BodyTimeouts {
  const idle = Number(env.UPLOAD_IDLE_TIMEOUT_SECONDS);
  return { idleMs: (idle > 0 ? idle : DEFAULT_UPLOAD_IDLE_TIMEOUT_SECONDS) * 1000, totalMs: UPLOAD_BODY_DEADLINE_MS };
}

export function maxFileSizeBytes(env: Env): number {
  return Number(env.MAX_FILE_SIZE_BYTES) || DEFAULT_MAX_FILE_SIZE_BYTES;
}

/** A batch's files together are held to the same limit as one file: the platform caps the request body. */
export function maxBatchSizeBytes(env: Env): number {
  return maxFileSizeBytes(env);
}

/** An upload stored in R2 and judged, whose D1 row is not written yet. */
export interface ReceivedUpload {
  row: FileRow;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
  /** Removes the stored object (the request failed after it). */
  discard(): Promise<void>;
}

export interface UploadLimits {
  maxFileBytes: number;
  /** Called with each chunk's size, before it is stored: a batch's running total (may throw). */
  onBytes?: (bytes: number) => void;
}

/** Where one file part of a form streams (routes/upload-form.ts feeds it as the part arrives). */
export interface UploadSink {
  write(chunk: Uint8Array): Promise<void>;
  /** The part ended: the file stored and judged. */
  close(): Promise<ReceivedUpload>;
  /** Something failed before close(): nothing is left behind. */
  abort(): Promise<void>;
}

/** The sink one file part of a form streams into (the row's purpose is `conversion` until the caller sets it). */
export function uploadSink(env: Env, accountId: string, name: string, limits: UploadLimits): UploadSink {
  const filename = storedFileName(name);
  const id = prefixedId("file");
  const key = uploadKey(accountId, id);
  const writer = new ObjectWriter(env.BUCKET, key, { filename });
  const digest = new crypto.DigestStream("SHA-256");
  const hashing = digest.getWriter();
  // Aborting the hash (a refused or broken-off upload) rejects its digest: nobody waits for it then.
  digest.digest.catch(() => undefined);
  const head = new Uint8Array(KEEP_HEAD_BYTES);
  let headLength = 0;
  const tail = new TailBuffer(KEEP_TAIL_BYTES);
  let judgedHead = false;

  return {
    async write(chunk) {
      if (writer.size + chunk.length > limits.maxFileBytes) {
        throw new ApiError("request.too_large", `the file is larger than the limit of ${limits.maxFileBytes} bytes`, {
          maxFileSizeBytes: limits.maxFileBytes,
        });
      }
      limits.onBytes?.(chunk.length);
      if (headLength < head.length) {
        const take = Math.min(head.length - headLength, chunk.length);
        head.set(chunk.subarray(0, take), headLength);
        headLength += take;
      }
      tail.push(chunk);
      await hashing.write(chunk);
      if (!judgedHead && headLength >= HEAD_BYTES) {
        judgedHead = true;
        const refused = refuseFromHead(head.subarray(0, headLength), false, { name: filename });
        if (refused) throw refusal(refused, filename);
      }
      await writer.write(chunk);
    },

    async close() {
      await hashing.close();
      const sha256 = toHex(await digest.digest);
      try {
        if (writer.spilled) await writer.complete();
        const source = writer.spilled
          ? withKnownRanges(objectRanges(env.BUCKET, key, writer.size), [
              { offset: 0, bytes: head.subarray(0, headLength) },
              { offset: writer.size - tail.length, bytes: tail.bytes() },
            ])
          : bytesSource(writer.bytes);
        const detection = await detect(source, { name: filename });
        if (!detection.ok) throw refusal(detection, filename);
        // Small files are judged before they are stored: a refused one never reaches R2.
        if (!writer.spilled) await writer.complete(sha256);
        const row: FileRow = {
          id,
          accountId,
          filename,
          bytes: writer.size,
          sourceFormat: detection.format,
          contentType: mediaTypeOf(detection.format),
          purpose: "conversion",
          pages: detection.pages,
          storageKey: key,
          createdAt: Date.now(),
        };
        return { row, sha256, discard: () => writer.abort() };
      } catch (error) {
        await writer.abort();
        throw error;
      }
    },

    async abort() {
      await hashing.abort().catch(() => undefined);
      await writer.abort();
    },
  };
}

/** The detector's refusal in the API's envelope. */
function refusal(refused: Refused, filename: string): ApiError {
  const context = { filename, ...(refused.detected ? { detectedFormat: refused.detected } : {}) };
  switch (refused.reason) {
    case "empty":
      return new ApiError("request.empty_file", "the file is empty", { filename });
    case "unsupported":
      return new ApiError("request.unsupported_format", refused.detail, {
        ...context,
        supportedFormats: sourceFormats(),
      });
    case "mismatch":
      return new ApiError("request.format_mismatch", refused.detail, context);
    case "corrupt":
      return new ApiError("convert.corrupt_input", refused.detail, context);
    case "zip_bomb":
      return new ApiError("convert.zip_bomb", refused.detail, context);
    case "entity_expansion":
      return new ApiError("convert.entity_expansion", refused.detail, context);
    case "password_protected":
      return new ApiError("convert.password_protected", refused.detail, context);
  }
}

/** Writes the rows of uploads received by one request; if one fails, none stays and every object is removed. */
export async function recordUploads(svc: Services, uploads: ReceivedUpload[]): Promise<FileRow[]> {
  const written: FileRow[] = [];
  try {
    for (const upload of uploads) {
      await insertFile(svc.db, upload.row);
      written.push(upload.row);
    }
    return written;
  } catch (error) {
    await discardUploads(svc, uploads, written);
    throw error;
  }
}

/** Removes uploads received by a request that then failed: their objects, and any rows already written. */
export async function discardUploads(svc: Services, uploads: ReceivedUpload[], rows: FileRow[] = []): Promise<void> {
  await Promise.allSettled([
    ...uploads.map((u) => u.discard()),
    ...rows.map((row) => deleteFile(svc.env, svc.db, row)),
  ]);
}

/** The last `capacity` bytes written, in a ring. */
class TailBuffer {
  private readonly ring: Uint8Array;
  private end = 0;
  private total = 0;
  constructor(capacity: number) {
    this.ring = new Uint8Array(capacity);
  }
  get length(): number {
    return Math.min(this.total, this.ring.length);
  }
  push(chunk: Uint8Array): void {
    const data = chunk.length > this.ring.length ? chunk.subarray(chunk.length - this.ring.length) : chunk;
    const first = Math.min(data.length, this.ring.length - this.end);
    this.ring.set(data.subarray(0, first), this.end);
    this.ring.set(data.subarray(first), 0);
    this.end = (this.end + data.length) % this.ring.length;
    this.total += chunk.length;
  }
  bytes(): Uint8Array {
    if (this.total <= this.ring.length) return this.ring.subarray(0, this.total);
    const out = new Uint8Array(this.ring.length);
    out.set(this.ring.subarray(this.end));
    out.set(this.ring.subarray(0, this.end), this.ring.length - this.end);
    return out;
  }
}
