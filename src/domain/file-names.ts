// The name a file is stored and served under. Invisible characters are removed, not refused: a name is the
// uploader's text, and what cannot be seen must not change what is shown (`Content-Disposition`, job outputs,
// listings) — U+202E turns `invoice‮fdp.exe` into what reads as `invoiceexe.pdf`.
import { ApiError } from "../errors";

export const MAX_FILENAME_LENGTH = 255;

// Unicode general categories Cc (C0, DEL and C1 controls), Cf (format: bidi embeddings, overrides, isolates
// and marks, zero-width spaces and joiners, BOM, soft hyphen, tag characters), Cs (lone surrogates, which
// also make encodeURIComponent throw), Zl and Zp (line and paragraph separators).
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** The name without invisible characters, NFC-normalized and trimmed; `document` when nothing else is left. */
export function sanitizeFileName(name: string): string {
  return name.replace(INVISIBLE, "").normalize("NFC").trim() || "document";
}

/** The name an upload is stored under: sanitized, then refused when it is a path, `.` or `..`, or too long. */
export function storedFileName(raw: string | undefined): string {
  const name = sanitizeFileName(raw ?? "");
  if (/[/\\]/.test(name))
    throw new ApiError("request.invalid_filename", "the file name must not contain path separators", {
      filename: name.slice(0, 100),
    });
  if (name === "." || name === "..") throw new ApiError("request.invalid_filename", "the file name is not valid");
  if (name.length > MAX_FILENAME_LENGTH)
    throw new ApiError(
      "request.invalid_filename",
      `the file name is ${name.length} characters; at most ${MAX_FILENAME_LENGTH} are allowed`,
    );
  return name;
}
