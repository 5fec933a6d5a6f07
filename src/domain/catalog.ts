// The conversion catalog: every pair of the converter's matrix with its price and limits. Derived, never
// written by hand: the matrix comes from container/src/formats.ts, prices from pricing.ts, limits from plans.ts.
import { categoryOf, jobName, sourceFormats, targetsFor, type Category } from "./formats";
import { MAX_BATCH_FILES, MAX_BATCH_SIZE_BYTES, MAX_DURATION_MINUTES, MAX_PAGES, PLANS } from "./plans";
import { costingFor, type CostingInfo } from "./pricing";

export interface ConversionEdge {
  sourceFormat: string;
  targetFormat: string;
  job: string;
  endpoint: string;
  category: Category;
  costing: CostingInfo;
  maxFileSizeBytes: number;
  maxConcurrentJobs: number;
  maxPages: number;
  maxDurationMinutes: number;
}

export interface ConversionItem {
  job: string;
  category: Category;
  costing: CostingInfo;
  endpoint: string;
  inputFormats: string[];
  outputFormats: string[];
  maxFileSizeBytes: number;
  maxConcurrentJobs: number;
  maxPages: number;
  maxDurationMinutes: number;
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
      const edge: ConversionEdge = {
        sourceFormat: source,
        targetFormat: target,
        job: jobName(source, target),
        endpoint: JOBS_ENDPOINT,
        category: categoryOf(source, target),
        costing: costingFor(categoryOf(source, target), target),
        maxFileSizeBytes,
        maxConcurrentJobs,
        maxPages: MAX_PAGES,
        maxDurationMinutes: MAX_DURATION_MINUTES,
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
        maxPages: MAX_PAGES,
        maxDurationMinutes: MAX_DURATION_MINUTES,
        maxBatchSizeBytes: MAX_BATCH_SIZE_BYTES,
      });
      return edge;
    });
  }
  return { conversions, sourceFormatTo, maxFileSizeBytes, maxConcurrentJobs, maxBatchFiles: MAX_BATCH_FILES };
}
