// The format matrix as the API sees it. The converter owns the matrix (container/src/formats.ts, also
// served at its GET /formats); the catalog, validation and pricing derive from it here.
import { ApiError } from "../errors";
import { CATEGORIES, type Category, MATRIX } from "./matrix";

export type { Category };

export function sourceFormats(): string[] {
  return Object.keys(MATRIX.sources);
}

export function targetsFor(source: string): readonly string[] {
  return MATRIX.sources[source]?.targets ?? [];
}

/** A target made of one file per page (an image format). */
export function isPageImageTarget(target: string): boolean {
  return MATRIX.targets[target]?.splitBy === "page";
}

/** Rendering to images (png, jpg) is its own category; otherwise the source's. */
export function categoryOf(source: string, target: string): Category {
  if (target === "png" || target === "jpg") return "images";
  return MATRIX.sources[source]?.category ?? "documents";
}

export function mediaTypeOf(format: string): string {
  return MATRIX.targets[format]?.mediaType ?? MATRIX.sources[format]?.mediaType ?? "application/octet-stream";
}

export function assertConvertible(source: string, target: string): void {
  const supportedTargets = targetsFor(source);
  if (!supportedTargets.includes(target)) {
    throw new ApiError(
      "convert.unsupported_format_pair",
      supportedTargets.length
        ? `cannot convert ${source} to ${target}; ${source} converts to: ${supportedTargets.join(", ")}`
        : `${source} is not a supported source format`,
      { sourceFormat: source, targetFormat: target, supportedTargets },
    );
  }
}

/** A conversion's catalog name, e.g. `document.docx-to-pdf`. */
export function jobName(source: string, target: string): string {
  const prefix = CATEGORIES[categoryOf(source, target)];
  return `${prefix}.${source}-to-${target}`;
}
