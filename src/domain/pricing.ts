// Prices: the one table, and the one function from (conversion, size, pages, options) to credits.
// The cost is decided at submission from what is known then and never changes afterwards.
import type { ConvertOptions } from "../converter/client";
import type { Category } from "./formats";

export type CostingStrategy = "Fixed" | "PerMegabyte" | "PerPage" | "PerMinute";

export interface CostVariant {
  variant: string;
  description: string;
  baseCost: number;
}

export interface CostingInfo {
  strategy: CostingStrategy;
  baseCost: number;
  increment: number;
  incrementUnit: "conversion" | "megabyte" | "page" | "minute";
  displaySuffix: string;
  costVariants: CostVariant[];
}

const PDFA_SURCHARGE = 1;

/** The pricing table: by output kind first, then by the source's category. */
export function costingFor(category: Category, target: string): CostingInfo {
  const variants = (base: number): CostVariant[] =>
    target === "pdf" ? [{ variant: "pdfa", description: "PDF/A archival output", baseCost: base + PDFA_SURCHARGE }] : [];
  if (target === "txt" || target === "csv") {
    return { strategy: "Fixed", baseCost: 1, increment: 1, incrementUnit: "conversion", displaySuffix: "per conversion", costVariants: [] };
  }
  if (category === "images") {
    // Rasterizing time grows with every page rendered; priced by the estimated render minutes.
    return { strategy: "PerMinute", baseCost: 2, increment: 1, incrementUnit: "minute", displaySuffix: "per minute of rendering", costVariants: [] };
  }
  if (category === "spreadsheets") {
    return { strategy: "PerMegabyte", baseCost: 1, increment: 5, incrementUnit: "megabyte", displaySuffix: "per 5 MB", costVariants: variants(1) };
  }
  if (category === "presentations") {
    return { strategy: "PerPage", baseCost: 2, increment: 20, incrementUnit: "page", displaySuffix: "per 20 slides", costVariants: variants(2) };
  }
  return { strategy: "PerPage", baseCost: 1, increment: 10, incrementUnit: "page", displaySuffix: "per 10 pages", costVariants: variants(1) };
}

// Rendering a page to an image takes about this long on the converter (see bench/README.md).
export const RENDER_SECONDS_PER_PAGE = 2;
// A document whose page count its metadata does not state is counted as one page per this many bytes.
export const BYTES_PER_ESTIMATED_PAGE = 100 * 1024;

export interface CostInputs {
  bytes: number;
  pages: number | null;
  options?: ConvertOptions;
}

export interface CostQuote {
  credits: number;
  increments: number;
  quantity: number;
  unit: CostingInfo["incrementUnit"];
  pages: number;
  pagesSource: "metadata" | "estimated";
  variant: string | null;
}

/** Pages known at submission: the document's own metadata, else the size rule. */
export function pagesAtSubmission(bytes: number, pages: number | null): { pages: number; source: "metadata" | "estimated" } {
  if (pages !== null && pages > 0) return { pages, source: "metadata" };
  return { pages: Math.max(1, Math.ceil(bytes / BYTES_PER_ESTIMATED_PAGE)), source: "estimated" };
}

export function quote(costing: CostingInfo, inputs: CostInputs): CostQuote {
  const { pages, source } = pagesAtSubmission(inputs.bytes, inputs.pages);
  const variant = inputs.options?.pdfa ? costing.costVariants.find((v) => v.variant === "pdfa") ?? null : null;
  const base = variant ? variant.baseCost : costing.baseCost;
  let quantity: number;
  switch (costing.strategy) {
    case "Fixed":
      return { credits: base, increments: 1, quantity: 1, unit: costing.incrementUnit, pages, pagesSource: source, variant: variant?.variant ?? null };
    case "PerMegabyte":
      quantity = inputs.bytes / (1024 * 1024);
      break;
    case "PerPage":
      quantity = pages;
      break;
    case "PerMinute":
      quantity = (pages * RENDER_SECONDS_PER_PAGE) / 60;
      break;
  }
  // Every started increment counts; anything non-empty costs at least one increment.
  const increments = Math.max(1, Math.ceil(quantity / costing.increment - 1e-9));
  return { credits: increments * base, increments, quantity, unit: costing.incrementUnit, pages, pagesSource: source, variant: variant?.variant ?? null };
}
