// The conversion catalog: every pair of the converter's matrix with its price and limits. Derived, never
// written by hand: the matrix comes from container/src/formats.ts, prices from pricing.ts, limits from plans.ts.

import { checkConversion, normalizeFormat } from "./conversions";
import { type Category, categoryOf, jobName, sourceFormats, targetsFor } from "./formats";
import { MAX_BATCH_FILES, MAX_PAGES, PLANS } from "./plans";
import { type CostingInfo, costingFor } from "./pricing";

export interface ConversionEdge {
  sourceFormat: string;
  targetFormat: string;
  job: string;
  endpoint: string | null;
  category: Category;
  costing: CostingInfo;
  maxFileSizeBytes: number;
  maxConcurrentJobs: number;
  /** Page-priced conversions only (seed 003: "document converters with PerPage costing"). */
  maxPages: number | null;
  /** PerMinute conversions only: none here. */
  maxDurationMinutes: number | null;
}

export interface ConversionItem {
  job: string;
  category: Category;
  costing: CostingInfo;
  endpoint: string | null;
  inputFormats: string[];
  outputFormats: string[];
  maxFileSizeBytes: number;
  maxConcurrentJobs: number;
  maxPages: number | null;
  maxDurationMinutes: number | null;
  maxBatchSizeBytes: number;
}

export interface Catalog {
  conversions: ConversionItem[];
  sourceFormatTo: Record<string, ConversionEdge[]>;
  maxFileSizeBytes: number;
  maxConcurrentJobs: number;
  maxBatchFiles: number;
}

export const JOBS_ENDPOINT = "/v1/convert";

/** The catalog's limits are the free plan's; a key's own plan is in GET /v1/convert/entitlements/me. */
export function buildCatalog(maxFileSizeBytes: number): Catalog {
  const maxConcurrentJobs = PLANS.free.maxConcurrentJobs;
  const sourceFormatTo: Record<string, ConversionEdge[]> = {};
  const conversions: ConversionItem[] = [];
  for (const source of sourceFormats()) {
    sourceFormatTo[source] = targetsFor(source).map((target) => {
      const costing = costingFor(source, target);
      const edge: ConversionEdge = {
        sourceFormat: source,
        targetFormat: target,
        job: jobName(source, target),
        endpoint: JOBS_ENDPOINT,
        category: categoryOf(source, target),
        costing,
        maxFileSizeBytes,
        maxConcurrentJobs,
        maxPages: costing.strategy === "PerPage" ? MAX_PAGES : null,
        maxDurationMinutes: null,
      };
      conversions.push({
        job: edge.job,
        category: edge.category,
        costing: edge.costing,
        endpoint: edge.endpoint,
        inputFormats: [source],
        outputFormats: [target],
        maxFileSizeBytes,
        maxConcurrentJobs,
        maxPages: edge.maxPages,
        maxDurationMinutes: null,
        // One request carries a batch, so its files share the request body limit (= the file limit).
        maxBatchSizeBytes: maxFileSizeBytes,
      });
      return edge;
    });
  }
  return { conversions, sourceFormatTo, maxFileSizeBytes, maxConcurrentJobs, maxBatchFiles: MAX_BATCH_FILES };
}

/**
 * GET /v1/convert/estimate: the submission's check and calculation (checkConversion) on given inputs, so it
 * refuses what submission would refuse. An input the strategy needs and the caller left out is assumed (pages:
 * one increment, as a file whose count could not be read is charged; bytes: 0) and said so in `assumptions`.
 */
export function estimateFor(
  from: string,
  to: string,
  given: { bytes?: number; pages?: number; pdfa?: string },
  maxFileBytes: number,
) {
  const source = normalizeFormat(from);
  const { quote: result, target } = checkConversion(
    { sourceFormat: source, bytes: given.bytes ?? 0, pages: given.pages ?? null },
    to,
    { pdfa: given.pdfa },
    maxFileBytes,
  );
  const costing = costingFor(source, target);
  const perPage = costing.strategy === "PerPage";
  const assumptions: string[] = [];
  if (perPage && given.pages === undefined)
    assumptions.push(`no \`pages\` given: ${result.pagesCharged} ${costing.incrementUnit} assumed (one increment)`);
  if (costing.strategy === "PerMegabyte" && given.bytes === undefined)
    assumptions.push("no `bytes` given: 0 bytes assumed (one increment)");
  const source_ = (v: unknown) => (v === undefined ? ("assumed" as const) : ("given" as const));
  return {
    sourceFormat: source,
    targetFormat: target,
    job: jobName(source, target),
    category: categoryOf(source, target),
    costing,
    inputs: {
      bytes: given.bytes ?? 0,
      bytesSource: source_(given.bytes),
      pages: perPage ? result.pagesCharged : null,
      pagesSource: perPage ? source_(given.pages) : null,
      variant: result.variant,
    },
    assumptions,
    quantity: result.quantity,
    unit: result.unit,
    increments: result.increments,
    creditCost: result.credits,
    maxPages: perPage ? result.maxPages : null,
  };
}
