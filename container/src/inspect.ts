// What the converter does with an upload before LibreOffice sees it: the shared detector (container/src/detect/)
// over the temp file, its refusals as the converter's errors, and for zip-based documents every entry inflated
// with a byte counter and a cap (the final word on zip bombs: the Worker only checked declared sizes).

import { type FileHandle, open } from "node:fs/promises";
import { inflateRawSync } from "node:zlib";
import { type ByteSource, type Detection, detect, type SmallInflater } from "./detect/index.ts";
import { ConvertError } from "./errors.ts";
import { isSource, type SourceName, sources } from "./formats.ts";

export interface Inspection {
  source: SourceName;
  /** Pages or slides counted from the structure (pdf, presentations), else null. */
  pages: number | null;
}

/** A file on disk as a ByteSource: positional reads, nothing held. */
export function fileSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const want = Math.max(0, Math.min(length, size - offset));
      const buffer = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(buffer, got, want - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buffer.subarray(0, got);
    },
  };
}

/**
 * Detects `path`'s format from its bytes. `declared` is the source the caller names (`from`, or the upload's
 * extension): the detector consults it only for text, exactly as the Worker did with the upload's name.
 */
export async function inspectInput(path: string, declared: string | undefined): Promise<Inspection> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const detection = await detect(fileSource(handle, size), {
      name: declared ? `input.${declared}` : undefined,
      inflateAll: true,
      inflateSmall: smallInflater(),
    });
    return fromDetection(detection, declared);
  } finally {
    await handle.close();
  }
}

/** Most a small entry inflates to in one synchronous call; a larger one is streamed (off the event loop). */
const SYNC_OUTPUT_BYTES = 1024 * 1024;
/** Synchronous inflating yields to the event loop after this many bytes (uploads and health checks go on). */
const YIELD_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * inflateAll's small entries through zlib's synchronous inflater: a few microseconds for a typical part, where a
 * DecompressionStream (with its thread-pool round trips) costs ~0.3 ms or more per entry, i.e. 8-20 ms for an
 * ordinary docx of ~20 parts. Bounded per call (1 MiB out of at most 64 KiB in) and by the same counter and cap.
 */
export function smallInflater(): SmallInflater {
  let sinceYield = 0;
  return async (compressed, maxBytes) => {
    if (sinceYield >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const window = Math.min(maxBytes, SYNC_OUTPUT_BYTES);
    try {
      // info: how much input the inflater consumed; bytes after the deflate stream are the streaming path's to judge.
      const { buffer, engine } = inflateRawSync(compressed, {
        maxOutputLength: window,
        info: true,
      } as object) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
      if (engine.bytesWritten !== compressed.length) return undefined;
      sinceYield += buffer.length;
      return buffer;
    } catch {
      sinceYield += window;
      return undefined; // past the window or damaged: the streaming path decides
    }
  };
}

/**
 * Pages of a PDF LibreOffice wrote, from its page tree: the detector's bounded parser in-process, which every
 * uploaded PDF already goes through, instead of spawning pdfinfo in a render cell for one number. Undefined
 * when the structure does not say (the caller asks pdfinfo then).
 */
export async function pdfPagesFromStructure(path: string): Promise<number | undefined> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const detection = await detect(fileSource(handle, size), { name: "output.pdf" });
    return detection.ok && detection.format === "pdf" && !detection.encrypted && detection.pages !== null
      ? detection.pages
      : undefined;
  } finally {
    await handle.close();
  }
}

export function fromDetection(detection: Detection, declared: string | undefined): Inspection {
  if (detection.ok) {
    if (detection.encrypted && detection.format !== "pdf") {
      // LibreOffice would ask for a password; a PDF may still open (an empty user password), pdftoppm decides.
      throw new ConvertError("convert.password_protected", "the document is encrypted with a password", {
        sourceFormat: detection.format,
      });
    }
    return { source: detection.format as SourceName, pages: detection.pages };
  }
  switch (detection.reason) {
    case "empty":
      throw new ConvertError("convert.empty_input", "the request body is empty");
    case "corrupt":
      throw new ConvertError("convert.corrupt_input", detection.detail);
    case "zip_bomb":
      throw new ConvertError("convert.zip_bomb", detection.detail);
    case "entity_expansion":
      throw new ConvertError("convert.entity_expansion", detection.detail);
    case "password_protected":
      throw new ConvertError("convert.password_protected", detection.detail);
    case "unsupported":
    case "mismatch": {
      const claimed = declared && isSource(declared) ? declared : undefined;
      throw new ConvertError("convert.unsupported_format_pair", detection.detail, {
        sourceFormat: detection.detected ?? claimed ?? "unknown",
        supportedTargets: detection.detected && isSource(detection.detected) ? sources[detection.detected].targets : [],
      });
    }
  }
}
