// What the converter does with an upload before LibreOffice sees it: the shared detector (container/src/detect/)
// over the temp file, its refusals as the converter's errors, and for zip-based documents every entry inflated
// with a byte counter and a cap (the final word on zip bombs: the Worker only checked declared sizes).

import { type FileHandle, open } from "node:fs/promises";
import { type ByteSource, type Detection, detect } from "./detect/index.ts";
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
    });
    return fromDetection(detection, declared);
  } finally {
    await handle.close();
  }
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
