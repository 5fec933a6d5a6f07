// Taking an upload in: checks that need no storage first (name, size, format from the bytes), then R2, then
// D1, undoing the R2 write if the record cannot be made, so no half-written upload is left behind.
import { insertFile, type FileRow } from "../db/files";
import type { Db } from "../db/client";
import { ApiError } from "../errors";
import { prefixedId } from "../ids";
import { uploadKey } from "../storage/r2";
import { inspectDocument } from "./documents";
import { storedFileName } from "./file-names";
import { isSupportedSource, mediaTypeOf, sourceFormats } from "./formats";

export function maxFileSizeBytes(env: Env): number {
  return Number(env.MAX_FILE_SIZE_BYTES) || 50 * 1024 * 1024;
}

export async function storeUpload(env: Env, db: Db, accountId: string, file: File, purpose: string): Promise<FileRow> {
  const filename = storedFileName(file.name);
  const limit = maxFileSizeBytes(env);
  if (file.size > limit) throw new ApiError("request.too_large", `the file is ${file.size} bytes; the limit is ${limit}`, { maxFileSizeBytes: limit });
  const bytes = new Uint8Array(await file.arrayBuffer());
  const inspection = inspectDocument(bytes, filename);
  if (!inspection.ok) {
    const code = inspection.code;
    throw new ApiError(code, inspection.detail, {
      filename,
      ...(inspection.detected ? { detectedFormat: inspection.detected } : {}),
      ...(code === "request.unsupported_format" ? { supportedFormats: sourceFormats() } : {}),
    });
  }
  if (!isSupportedSource(inspection.format)) {
    throw new ApiError("request.unsupported_format", `${inspection.format} is not a supported source format`, { detectedFormat: inspection.format, supportedFormats: sourceFormats() });
  }
  const id = prefixedId("file");
  const row: FileRow = {
    id,
    accountId,
    filename,
    bytes: bytes.byteLength,
    sourceFormat: inspection.format,
    contentType: mediaTypeOf(inspection.format),
    purpose,
    pages: inspection.pages,
    storageKey: uploadKey(accountId, id),
    createdAt: Date.now(),
  };
  await env.BUCKET.put(row.storageKey, bytes, { httpMetadata: { contentType: row.contentType }, customMetadata: { filename } });
  try {
    await insertFile(db, row);
  } catch (err) {
    await env.BUCKET.delete(row.storageKey);
    throw err;
  }
  return row;
}

export function fileResponse(row: FileRow) {
  return {
    file_id: row.id,
    filename: row.filename,
    bytes: row.bytes,
    source_format: row.sourceFormat,
    purpose: row.purpose,
    pages: row.pages,
    created_at: new Date(row.createdAt).toISOString(),
  };
}
