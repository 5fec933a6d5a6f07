// Deciding a conversion before it runs: is the pair supported, is the input within limits, what it costs.

import { ConvertError } from "../../container/src/errors.ts";
import { parsePages, selectPages } from "../../container/src/options.ts";
import type { Caller } from "../auth/scope";
import type { ConvertOptions } from "../converter/client";
import type { FileRow } from "../db/files";
import { findJob } from "../db/jobs";
import { runIdOfOutputFile } from "../db/renditions";
import { ApiError } from "../errors";
import { visibleFile } from "./files";
import { assertConvertible, isPageImageTarget } from "./formats";
import { hasLiveOutput, type JobSpec } from "./jobs";
import { MATRIX } from "./matrix";
import { MAX_PAGES } from "./plans";
import { type CostQuote, costingFor, countedUnitOf, quote } from "./pricing";
import type { Services } from "./services";
import { maxFileSizeBytes } from "./uploads";

export function normalizeFormat(format: string): string {
  const f = format.trim().toLowerCase().replace(/^\./, "");
  return f === "jpeg" ? "jpg" : f;
}

/** What a conversion's rules and price depend on: measured from a stored file, or given to the estimate. */
export interface ConversionFacts {
  sourceFormat: string;
  bytes: number;
  /** The exact page or slide count (only for a source with a `countedUnit`), or null when it is not known. */
  pages: number | null;
}

/**
 * The one check before a conversion is admitted or estimated: the pair, the options the target takes, the file
 * size limit, the page limit on an exact count, then the price. Submission and the estimate both call it, so
 * the estimate refuses exactly what submission refuses, with the same codes.
 */
export function checkConversion(
  facts: ConversionFacts,
  targetFormat: string,
  options: ConvertOptions,
  maxFileBytes: number,
): { quote: CostQuote; target: string } {
  const target = normalizeFormat(targetFormat);
  assertConvertible(facts.sourceFormat, target);
  const allowed = MATRIX.targets[target]?.options ?? [];
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && !allowed.includes(name)) {
      throw new ApiError(
        "convert.invalid_option",
        `the ${name} option does not apply to ${target} output${allowed.length ? ` (it takes: ${allowed.join(", ")})` : ""}`,
        { option: name, targetFormat: target },
      );
    }
  }
  if (facts.bytes > maxFileBytes)
    throw new ApiError(
      "convert.file_too_large",
      `the file is ${facts.bytes} bytes; this conversion accepts at most ${maxFileBytes}`,
      { maxFileSizeBytes: maxFileBytes },
    );
  const unit = countedUnitOf(facts.sourceFormat);
  const pages = unit && facts.pages !== null && facts.pages > 0 ? facts.pages : null;
  if (pages !== null && pages > MAX_PAGES) {
    throw new ApiError(
      "convert.too_many_pages",
      `the document has ${pages} ${unit}; at most ${MAX_PAGES} are converted`,
      { pages, maxPages: MAX_PAGES },
    );
  }
  if (pages !== null && options.pages !== undefined && options.pages !== "all")
    assertPagesExist(options.pages, pages, unit!);
  const q = quote(costingFor(facts.sourceFormat, target), { bytes: facts.bytes, pages, options });
  return { quote: q, target };
}

/**
 * A page selection against an exact count: what the converter would refuse once it has the document (its
 * selectPages, 400 `convert.invalid_option`) is refused here with the same code, before anything is charged.
 * The exported document never has more pages than the source's count (hidden slides are left out, never added).
 */
function assertPagesExist(selection: string, count: number, unit: string): void {
  try {
    selectPages(parsePages(selection), count);
  } catch (err) {
    const detail = err instanceof ConvertError ? err.detail : String(err);
    throw new ApiError("convert.invalid_option", `${detail.replace(/page\(s\)$/, unit)}`, {
      option: "pages",
      pages: count,
    });
  }
}

/** checkConversion on a stored file's measured facts. */
export function planConversion(
  env: Env,
  file: FileRow,
  targetFormat: string,
  options: ConvertOptions,
): { quote: CostQuote; target: string } {
  return checkConversion(
    { sourceFormat: file.sourceFormat, bytes: file.bytes, pages: exactPagesOf(file) },
    targetFormat,
    options,
    maxFileSizeBytes(env),
  );
}

/**
 * A file that is still stored, checked before anything is charged. A run's output registered as a file (purpose
 * `run-output`, by POST /v1/runs/{run_id}/export) lives only as long as the run's output
 * (OUTPUT_RETENTION_SECONDS): past it, converting that file can never succeed, so it is refused 410
 * `runs.output_expired` — not admitted, charged and failed. Uploads are kept.
 */
export async function assertInputStored(
  svc: Services,
  file: Pick<FileRow, "id" | "purpose" | "storageKey">,
  now = Date.now(),
): Promise<void> {
  if (file.purpose !== "run-output") return;
  const runId = runIdOfOutputFile(file.id);
  const run = runId ? await findJob(svc.db, runId) : undefined;
  if (!run || !hasLiveOutput(run, now) || run.outputKey !== file.storageKey) throw runOutputExpired(runId);
}

/** A file of the caller's account that a job can still convert (see assertInputStored). */
export async function convertibleFile(svc: Services, caller: Caller, id: string): Promise<FileRow> {
  const file = await visibleFile(svc, caller, id);
  await assertInputStored(svc, file);
  return file;
}

export function runOutputExpired(runId: string | null): ApiError {
  return new ApiError(
    "runs.output_expired",
    "the run's output this file points at is no longer stored (outputs are kept OUTPUT_RETENTION_SECONDS); convert the original again",
    runId ? { status_url: `/v1/convert/job/${runId}` } : {},
  );
}

/**
 * The file's page or slide count where it is exact from its structure (the source format's `countedUnit`:
 * the detector's count, or the converter's count of a run output); null otherwise, whatever else is stored.
 */
export function exactPagesOf(file: Pick<FileRow, "sourceFormat" | "pages">): number | null {
  return countedUnitOf(file.sourceFormat) && file.pages !== null && file.pages > 0 ? file.pages : null;
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
    // The converter stops a document whose real count passes what was paid for (or the plans' limit).
    options: { ...options, maxPages: q.maxPages },
    creditCost: q.credits,
    inputBytes: file.bytes,
    inputPages: exactPagesOf(file),
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

/**
 * Which pages an image target renders when the caller did not say: seed 000's endpoints promise one file of
 * the format asked for (the first page or slide); the job API converts every page, as seed 003's multi-output
 * example shows.
 */
export type PageDefault = "first-page" | "every-page";

/** The options a conversion really runs with: part of cache keys and idempotency hashes, so a default and its
 *  explicit spelling share one result. `pages=all` is every page (no selection). */
export function effectiveOptions(
  targetFormat: string,
  options: ConvertOptions,
  pageDefault: PageDefault,
): ConvertOptions {
  const target = normalizeFormat(targetFormat);
  if (!MATRIX.targets[target]?.options.includes("pages")) return options;
  if (options.pages === "all") return { ...options, pages: undefined };
  if (options.pages === undefined && pageDefault === "first-page" && isPageImageTarget(target))
    return { ...options, pages: "1" };
  return options;
}

/** An option that may come as a query parameter and as a body field: either, or both when they agree. */
export function queryOrBody(name: string, query: string | undefined, body: string | undefined): string | undefined {
  if (query === "") query = undefined;
  if (body === "") body = undefined;
  if (query !== undefined && body !== undefined && query !== body) {
    throw new ApiError(
      "request.invalid",
      `${name} is given twice with different values: "${query}" as a query parameter and "${body}" in the body; send one`,
      { option: name },
    );
  }
  return query ?? body;
}
