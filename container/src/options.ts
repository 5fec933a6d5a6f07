// Parsing and checking the conversion options of POST /convert. Every failure is convert.invalid_option.

import { ConvertError } from "./errors.ts";
import { limits, type OptionName, type TargetName, targets } from "./formats.ts";

/** Inclusive 1-based page range; `last` undefined means "to the end" ("3-"). */
export interface PageRange {
  first: number;
  last: number | undefined;
}

export interface ConvertOptions {
  pages: PageRange[] | undefined;
  pdfa: "1b" | "2b" | "3b" | undefined;
  dpi: number;
  quality: number;
  sheet: number | string | undefined;
  /** csv: prefix formula-like cells with ' (on unless escapeFormulas=false). */
  escapeFormulas: boolean;
  /** Refuse (422 convert.too_many_pages) a document with more pages or slides than this. */
  maxPages: number | undefined;
  timeoutMs: number;
}

const MAX_PAGE = 100_000;

function invalid(option: string, detail: string): ConvertError {
  return new ConvertError("convert.invalid_option", detail, { option });
}

export function parsePages(raw: string): PageRange[] {
  const text = raw.replace(/\s+/g, "");
  if (!/^\d+(-\d*)?(,\d+(-\d*)?)*$/.test(text)) {
    throw invalid("pages", `pages must look like "2", "1-3", "1,3-4" or "5-", got "${raw}"`);
  }
  const ranges = text.split(",").map((part): PageRange => {
    const [a, b] = part.split("-");
    const first = Number(a);
    const last = b === undefined ? first : b === "" ? undefined : Number(b);
    if (first < 1 || first > MAX_PAGE || (last !== undefined && (last < first || last > MAX_PAGE))) {
      throw invalid(
        "pages",
        `page range "${part}" is not valid (pages start at 1, ranges go upwards, none past page ${MAX_PAGE})`,
      );
    }
    return { first, last };
  });
  return mergeRanges(ranges);
}

/** Sorted, with overlapping and touching ranges joined ("3-5,1-4" → "1-5"). */
function mergeRanges(ranges: PageRange[]): PageRange[] {
  const sorted = [...ranges].sort((x, y) => x.first - y.first);
  const merged: PageRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && (last.last === undefined || range.first <= last.last + 1)) {
      last.last = last.last === undefined || range.last === undefined ? undefined : Math.max(last.last, range.last);
    } else {
      merged.push({ ...range });
    }
  }
  return merged;
}

/** The selected pages of a document with `count` pages, or an error naming what does not exist. */
export function selectPages(ranges: PageRange[] | undefined, count: number): number[] {
  if (!ranges) return Array.from({ length: count }, (_, i) => i + 1);
  const selected = new Set<number>();
  for (const { first, last } of ranges) {
    const end = last ?? count;
    if (first > count || end > count) {
      throw invalid("pages", `page ${Math.max(first, end)} was requested but the document has ${count} page(s)`);
    }
    for (let page = first; page <= end; page++) selected.add(page);
  }
  return [...selected].sort((a, b) => a - b);
}

/**
 * The document page numbers of a PDF exported with PageRange = `ranges` that holds `count` pages: the selected
 * pages that exist, in order (an open range runs to the document's end). Undefined when the PDF has more pages
 * than the selection allows, i.e. the export ignored the range and the PDF is the whole document.
 */
export function exportedPageNumbers(ranges: PageRange[], count: number): number[] | undefined {
  const numbers: number[] = [];
  for (const { first, last } of ranges) {
    for (let page = first; (last === undefined || page <= last) && numbers.length < count; page++) numbers.push(page);
  }
  if (numbers.length < count) return undefined;
  // Every closed range must exist whole, and an open one at least by its first page.
  const wanted = ranges.reduce((sum, { first, last }) => sum + (last === undefined ? 1 : last - first + 1), 0);
  if (count < wanted) {
    throw invalid(
      "pages",
      `pages ${pageRangeText(ranges)} asked for ${wanted} page(s) but only ${count} of them exist`,
    );
  }
  return numbers;
}

/** LibreOffice's PDF export PageRange syntax for the same selection. */
export function pageRangeText(ranges: PageRange[]): string {
  return ranges.map(({ first, last }) => (last === first ? `${first}` : `${first}-${last ?? ""}`)).join(",");
}

function integer(
  params: URLSearchParams,
  name: OptionName,
  range: { min: number; max: number; default: number },
): number {
  const raw = params.get(name);
  if (raw === null || raw === "") return range.default;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw invalid(name, `${name} must be an integer from ${range.min} to ${range.max}, got "${raw}"`);
  }
  return value;
}

export function parseOptions(
  params: URLSearchParams,
  target: TargetName,
  timeouts: { defaultMs: number; maxMs: number },
): ConvertOptions {
  const allowed = new Set<string>(targets[target].options);
  for (const name of ["pages", "pdfa", "dpi", "quality", "sheet", "escapeFormulas"] as const) {
    if (params.has(name) && !allowed.has(name)) {
      const which = [...allowed].join(", ") || "none";
      throw invalid(name, `option "${name}" does not apply to ${target} output (options for ${target}: ${which})`);
    }
  }

  const pagesRaw = params.get("pages");
  const pdfaRaw = params.get("pdfa");
  if (pdfaRaw !== null && !(limits.pdfa as readonly string[]).includes(pdfaRaw)) {
    throw invalid("pdfa", `pdfa must be one of ${limits.pdfa.join(", ")}, got "${pdfaRaw}"`);
  }

  let sheet: number | string | undefined;
  const sheetRaw = params.get("sheet");
  if (sheetRaw !== null) {
    if (sheetRaw === "") throw invalid("sheet", 'sheet must be a 1-based index, a sheet name or "all"');
    if (sheetRaw.length > 255) throw invalid("sheet", "sheet name is too long");
    sheet = /^\d+$/.test(sheetRaw) ? Number(sheetRaw) : sheetRaw;
    if (sheet === 0) throw invalid("sheet", "sheets are numbered from 1");
  }

  const escapeRaw = params.get("escapeFormulas");
  if (escapeRaw !== null && escapeRaw !== "true" && escapeRaw !== "false") {
    throw invalid("escapeFormulas", `escapeFormulas must be true or false, got "${escapeRaw}"`);
  }

  let maxPages: number | undefined;
  const maxPagesRaw = params.get("maxPages");
  if (maxPagesRaw !== null && maxPagesRaw !== "") {
    maxPages = Number(maxPagesRaw);
    if (!Number.isInteger(maxPages) || maxPages < 1)
      throw invalid("maxPages", `maxPages must be a positive integer, got "${maxPagesRaw}"`);
  }

  let timeoutMs = timeouts.defaultMs;
  const timeoutRaw = params.get("timeout");
  if (timeoutRaw !== null && timeoutRaw !== "") {
    const seconds = Number(timeoutRaw);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds * 1000 > timeouts.maxMs) {
      throw invalid(
        "timeout",
        `timeout must be a number of seconds above 0 and at most ${timeouts.maxMs / 1000}, got "${timeoutRaw}"`,
      );
    }
    timeoutMs = Math.max(1, Math.round(seconds * 1000));
  }

  return {
    pages: pagesRaw === null || pagesRaw === "" ? undefined : parsePages(pagesRaw),
    pdfa: (pdfaRaw ?? undefined) as ConvertOptions["pdfa"],
    dpi: integer(params, "dpi", limits.dpi),
    quality: integer(params, "quality", limits.quality),
    sheet,
    escapeFormulas: escapeRaw !== "false",
    maxPages,
    timeoutMs,
  };
}
