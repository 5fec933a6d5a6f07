// The format matrix: the one source of truth. GET /formats publishes `catalog()`; the Worker derives its
// catalog and validation from that JSON, so changes here are API changes (see container/README.md).

export type Category = "documents" | "spreadsheets" | "presentations";
/** Which LibreOffice module opens a source; "pdf" sources never touch LibreOffice. */
export type Family = "writer" | "calc" | "impress" | "pdf";

export interface SourceFormat {
  category: Category;
  family: Family;
  mediaType: string;
  targets: readonly TargetName[];
  /**
   * What the detector counts exactly from the file's structure (PDF page tree, pptx sldIdLst, odp draw:page),
   * never from metadata the uploader wrote. Absent: no exact count. The API prices per page only where it is
   * present, and tells the converter that many pages at most (maxPages).
   */
  countedUnit?: "pages" | "slides";
}

export interface TargetFormat {
  mediaType: string;
  /** true: one file carries every page; false: one file per page or sheet, zipped when more than one. */
  multiPage: boolean;
  /** What a multi-file result is split by. */
  splitBy?: "page" | "sheet";
  options: readonly OptionName[];
}

export type TargetName =
  | "pdf" | "html" | "txt" | "docx" | "doc" | "odt" | "rtf"
  | "csv" | "xlsx" | "xls" | "ods"
  | "pptx" | "ppt" | "odp"
  | "png" | "jpg";

export type OptionName = "pages" | "pdfa" | "dpi" | "quality" | "sheet" | "escapeFormulas";

const writerTargets = ["pdf", "docx", "odt", "rtf", "html", "txt", "png", "jpg"] as const;
const without = <T extends string>(list: readonly T[], drop: T): T[] => list.filter((t) => t !== drop);

export const targets: Record<TargetName, TargetFormat> = {
  pdf: { mediaType: "application/pdf", multiPage: true, options: ["pages", "pdfa"] },
  png: { mediaType: "image/png", multiPage: false, splitBy: "page", options: ["pages", "dpi"] },
  jpg: { mediaType: "image/jpeg", multiPage: false, splitBy: "page", options: ["pages", "dpi", "quality"] },
  html: { mediaType: "text/html; charset=utf-8", multiPage: true, options: [] },
  txt: { mediaType: "text/plain; charset=utf-8", multiPage: true, options: [] },
  csv: { mediaType: "text/csv; charset=utf-8", multiPage: false, splitBy: "sheet", options: ["sheet", "escapeFormulas"] },
  docx: {
    mediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    multiPage: true,
    options: [],
  },
  doc: { mediaType: "application/msword", multiPage: true, options: [] },
  odt: { mediaType: "application/vnd.oasis.opendocument.text", multiPage: true, options: [] },
  rtf: { mediaType: "application/rtf", multiPage: true, options: [] },
  xlsx: {
    mediaType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    multiPage: true,
    options: [],
  },
  xls: { mediaType: "application/vnd.ms-excel", multiPage: true, options: [] },
  ods: { mediaType: "application/vnd.oasis.opendocument.spreadsheet", multiPage: true, options: [] },
  pptx: {
    mediaType: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    multiPage: true,
    options: [],
  },
  ppt: { mediaType: "application/vnd.ms-powerpoint", multiPage: true, options: [] },
  odp: { mediaType: "application/vnd.oasis.opendocument.presentation", multiPage: true, options: [] },
};

export type SourceName =
  | "docx" | "doc" | "odt" | "rtf" | "pdf"
  | "xlsx" | "xls" | "ods" | "csv"
  | "pptx" | "ppt" | "odp";

export const sources: Record<SourceName, SourceFormat> = {
  docx: { category: "documents", family: "writer", mediaType: targets.docx.mediaType, targets: without(writerTargets, "docx") },
  doc: { category: "documents", family: "writer", mediaType: targets.doc.mediaType, targets: writerTargets },
  odt: { category: "documents", family: "writer", mediaType: targets.odt.mediaType, targets: without(writerTargets, "odt") },
  rtf: { category: "documents", family: "writer", mediaType: targets.rtf.mediaType, targets: without(writerTargets, "rtf") },
  pdf: { category: "documents", family: "pdf", mediaType: targets.pdf.mediaType, targets: ["png", "jpg"], countedUnit: "pages" },
  xlsx: {
    category: "spreadsheets",
    family: "calc",
    mediaType: targets.xlsx.mediaType,
    targets: ["pdf", "csv", "html", "ods", "png", "jpg"],
  },
  xls: {
    category: "spreadsheets",
    family: "calc",
    mediaType: targets.xls.mediaType,
    targets: ["pdf", "csv", "xlsx", "ods", "html", "png", "jpg"],
  },
  ods: {
    category: "spreadsheets",
    family: "calc",
    mediaType: targets.ods.mediaType,
    targets: ["pdf", "xlsx", "csv", "html", "png", "jpg"],
  },
  csv: {
    category: "spreadsheets",
    family: "calc",
    mediaType: "text/csv",
    targets: ["pdf", "xlsx", "ods", "csv", "html"],
  },
  pptx: {
    category: "presentations",
    family: "impress",
    mediaType: targets.pptx.mediaType,
    targets: ["pdf", "odp", "png", "jpg"],
    countedUnit: "slides",
  },
  ppt: {
    category: "presentations",
    family: "impress",
    mediaType: targets.ppt.mediaType,
    targets: ["pdf", "pptx", "odp", "png", "jpg"],
  },
  odp: {
    category: "presentations",
    family: "impress",
    mediaType: targets.odp.mediaType,
    targets: ["pdf", "pptx", "png", "jpg"],
    countedUnit: "slides",
  },
};

export const imageTargets: ReadonlySet<TargetName> = new Set(["png", "jpg"]);

export const limits = {
  dpi: { min: 36, max: 600, default: 150 },
  quality: { min: 1, max: 100, default: 85 },
  pdfa: ["1b", "2b", "3b"] as const,
};

export function isSource(name: string): name is SourceName {
  return Object.hasOwn(sources, name);
}

export function isTarget(name: string): name is TargetName {
  return Object.hasOwn(targets, name);
}

export function supports(source: SourceName, target: TargetName): boolean {
  return sources[source].targets.includes(target);
}

/** The JSON behind GET /formats. */
export function catalog(maxTimeoutSeconds: number, defaultTimeoutSeconds: number) {
  return {
    version: 1,
    sources,
    targets,
    options: {
      pages: {
        type: "range",
        appliesTo: ["pdf", "png", "jpg"],
        example: "1-3,5",
        description:
          "1-based pages or slides to keep, comma-separated numbers and ranges. For images a single page " +
          "returns one image, several return a ZIP of page-NNN.<ext> named by page number.",
      },
      pdfa: { type: "enum", appliesTo: ["pdf"], values: limits.pdfa, description: "PDF/A conformance level." },
      dpi: { type: "integer", appliesTo: ["png", "jpg"], ...limits.dpi, description: "Raster resolution." },
      quality: { type: "integer", appliesTo: ["jpg"], ...limits.quality, description: "JPEG quality." },
      sheet: {
        type: "string",
        appliesTo: ["csv"],
        default: "the workbook's active sheet",
        description:
          "1-based sheet index, a sheet name, or 'all' for a ZIP with one <n>-<sheet name>.csv per sheet.",
      },
      escapeFormulas: {
        type: "boolean",
        appliesTo: ["csv"],
        default: true,
        description:
          "Prefix cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return, " +
          "but not plain numbers) with ' (OWASP's CSV injection advice). false writes every cell verbatim.",
      },
      timeout: {
        type: "integer",
        unit: "s",
        min: 1,
        max: maxTimeoutSeconds,
        default: defaultTimeoutSeconds,
        description: "Conversion time limit; the LibreOffice instance is killed and replaced when it is exceeded.",
      },
    },
  };
}
