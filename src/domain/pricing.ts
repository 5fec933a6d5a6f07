// Prices: the one table, and the one function from (conversion, size, pages, options) to credits.
// A price rests only on what the server measures exactly at submission: the file's size, and its page or
// slide count where the detector counts it from the file's structure (the source format's `countedUnit`),
// never on a number the uploader wrote. The cost is decided then and never changes afterwards.
import type { ConvertOptions } from "../converter/client";
import { MATRIX } from "./matrix";
import { MAX_PAGES } from "./plans";

/** Seed 003's strategies; docconv prices with PerPage and PerMegabyte (nothing here has a duration). */
export type CostingStrategy = "Fixed" | "PerMegabyte" | "PerPage" | "PerMinute";

export interface CostVariant {
  description: string;
  baseCost: number;
  displaySuffix: string;
}

/** Seed 003's CostingInfo. */
export interface CostingInfo {
  strategy: CostingStrategy;
  baseCost: number;
  /** null for Fixed. */
  increment: number | null;
  /** "pages", "slides", "mb"; null for Fixed. */
  incrementUnit: "pages" | "slides" | "mb" | null;
  displaySuffix: string;
  /** Pricing modes of a converter that has several (PDF/A output), keyed by variant; null for most. */
  costVariants: Record<string, CostVariant> | null;
}

const PAGES_PER_INCREMENT = 10;
const MEGABYTES_PER_INCREMENT = 5;
const PDFA_SURCHARGE = 1;

/** The unit a source is counted in exactly, or null when its count cannot be known from its structure. */
export function countedUnitOf(source: string): "pages" | "slides" | null {
  return MATRIX.sources[source]?.countedUnit ?? null;
}

/**
 * The pricing table, from format properties: per page (or slide) where the source's count is exact, else per
 * megabyte. A target that takes the `pdfa` option has a PDF/A variant at a surcharge.
 */
export function costingFor(source: string, target: string): CostingInfo {
  const unit = countedUnitOf(source);
  const costing: Omit<CostingInfo, "costVariants"> = unit
    ? {
        strategy: "PerPage",
        baseCost: 1,
        increment: PAGES_PER_INCREMENT,
        incrementUnit: unit,
        displaySuffix: `per ${PAGES_PER_INCREMENT} ${unit}`,
      }
    : {
        strategy: "PerMegabyte",
        baseCost: 1,
        increment: MEGABYTES_PER_INCREMENT,
        incrementUnit: "mb",
        displaySuffix: `per ${MEGABYTES_PER_INCREMENT} MB`,
      };
  const pdfa = MATRIX.targets[target]?.options.includes("pdfa");
  return {
    ...costing,
    costVariants: pdfa
      ? {
          pdfa: {
            description: "PDF/A archival output (the pdfa option)",
            baseCost: costing.baseCost + PDFA_SURCHARGE,
            displaySuffix: costing.displaySuffix,
          },
        }
      : null,
  };
}

export interface CostInputs {
  bytes: number;
  /** The exact page/slide count, or null when it is not known. */
  pages: number | null;
  options?: ConvertOptions;
}

export interface CostQuote {
  credits: number;
  increments: number;
  quantity: number;
  unit: string;
  variant: string | null;
  /** PerPage: the pages the credits pay for (the count, or one increment when it is unknown); else null. */
  pagesCharged: number | null;
  /** What the converter may convert at most (its maxPages): the pages paid for within the plans' limit. */
  maxPages: number;
}

export function quote(costing: CostingInfo, inputs: CostInputs): CostQuote {
  const variantName = inputs.options?.pdfa && costing.costVariants?.pdfa ? "pdfa" : null;
  const base = variantName ? costing.costVariants![variantName]!.baseCost : costing.baseCost;
  if (costing.strategy === "Fixed" || costing.increment === null) {
    return {
      credits: base,
      increments: 1,
      quantity: 1,
      unit: "conversion",
      variant: variantName,
      pagesCharged: null,
      maxPages: MAX_PAGES,
    };
  }
  let quantity: number;
  let pagesCharged: number | null = null;
  if (costing.strategy === "PerPage") {
    // A count that could not be read (an encrypted or damaged file) buys one increment, and the converter
    // stops the conversion if the document turns out longer.
    quantity = inputs.pages !== null && inputs.pages > 0 ? inputs.pages : costing.increment;
    pagesCharged = quantity;
  } else {
    quantity = inputs.bytes / (1024 * 1024);
  }
  // Every started increment counts; anything non-empty costs at least one increment.
  const increments = Math.max(1, Math.ceil(quantity / costing.increment - 1e-9));
  return {
    credits: increments * base,
    increments,
    quantity,
    unit: costing.incrementUnit ?? "conversion",
    variant: variantName,
    pagesCharged,
    maxPages: pagesCharged === null ? MAX_PAGES : Math.min(MAX_PAGES, pagesCharged),
  };
}
