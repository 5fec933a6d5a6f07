// Deciding a conversion before it runs: is the pair supported, is the input within limits, what it costs.
import type { FileRow } from "../db/files";
import type { ConvertOptions } from "../converter/client";
import { ApiError } from "../errors";
import { assertConvertible, categoryOf } from "./formats";
import { MATRIX } from "./matrix";
import { MAX_PAGES } from "./plans";
import { costingFor, quote, type CostQuote } from "./pricing";
import { maxFileSizeBytes } from "./uploads";
import type { JobSpec } from "./jobs";

export function normalizeFormat(format: string): string {
  const f = format.trim().toLowerCase().replace(/^\./, "");
  return f === "jpeg" ? "jpg" : f;
}

export function planConversion(
  env: Env,
  file: FileRow,
  targetFormat: string,
  options: ConvertOptions,
): { quote: CostQuote; target: string } {
  const target = normalizeFormat(targetFormat);
  assertConvertible(file.sourceFormat, target);
  const allowed = MATRIX.targets[target]?.options ?? [];
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && !allowed.includes(name)) {
      throw new ApiError("convert.invalid_option", `the ${name} option does not apply to ${target} output${allowed.length ? ` (it takes: ${allowed.join(", ")})` : ""}`, { option: name, targetFormat: target });
    }
  }
  const limit = maxFileSizeBytes(env);
  if (file.bytes > limit) throw new ApiError("convert.file_too_large", `the file is ${file.bytes} bytes; this conversion accepts at most ${limit}`, { maxFileSizeBytes: limit });
  if (file.pages !== null && file.pages > MAX_PAGES) {
    throw new ApiError("convert.too_many_pages", `the document has ${file.pages} pages; at most ${MAX_PAGES} are converted`, { maxPages: MAX_PAGES });
  }
  const q = quote(costingFor(categoryOf(file.sourceFormat, target), target), { bytes: file.bytes, pages: file.pages, options });
  return { quote: q, target };
}

export function jobSpecFor(
  file: FileRow,
  target: string,
  options: ConvertOptions,
  q: CostQuote,
  extra: Pick<JobSpec, "accountId" | "apiKeyId" | "kind"> & Partial<JobSpec>,
): JobSpec {
  return {
    fileId: file.id,
    sourceFormat: file.sourceFormat,
    targetFormat: target,
    options,
    creditCost: q.credits,
    inputBytes: file.bytes,
    inputPages: file.pages,
    ...extra,
  };
}

/** Options without empty values, in a stable order: part of cache keys and idempotency hashes. */
export function canonicalOptions(options: ConvertOptions): ConvertOptions {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(options).sort()) {
    const v = (options as Record<string, unknown>)[key];
    if (v !== undefined && v !== null && v !== "") out[key] = v;
  }
  return out as ConvertOptions;
}
