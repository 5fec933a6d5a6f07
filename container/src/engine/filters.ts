// Which LibreOffice filter writes each target, per module. Image targets go through PDF and pdftoppm; SVG is
// one file per slide or page through Draw's GraphicExportFilter (never impress_svg_Export, which embeds a script).

import type { Family, TargetName } from "../formats.ts";

export type OfficeFamily = Exclude<Family, "pdf">;

export interface ExportFilter {
  filter: string;
  filterOptions?: string;
}

/** CSV export: comma, double quotes, UTF-8, from line 1; cell contents as shown, no formulas. */
export const CSV_EXPORT_OPTIONS = "44,34,76,1,,0,false,true,true,false,false";
export const CSV_IMPORT_FILTER = "Text - txt - csv (StarCalc)";

/**
 * The CSV import options with every token up to the 13th spelled out at LibreOffice's defaults (column types,
 * system language, quoted fields not forced to text, special numbers detected, …) except the 13th, "evaluate
 * formulas", which is false: a cell "=1+1" stays the text "=1+1" instead of becoming a live formula in xlsx/ods
 * (sc/source/ui/dbgui/asciiopt.cxx). `base` is "separator,quote,charset,first line".
 */
export function csvImportTextOnly(base: string): string {
  return `${base.split(",").slice(0, 4).join(",")},,0,false,true,true,false,false,0,false`;
}

const pdfFilter: Record<OfficeFamily, string> = {
  writer: "writer_pdf_Export",
  calc: "calc_pdf_Export",
  impress: "impress_pdf_Export",
  draw: "draw_pdf_Export",
};

/** The pseudo-filter the bridge answers with one SVG per page (GraphicExportFilter, image/svg+xml). */
export const SVG_PER_PAGE = "svg-per-page";

const filters: Record<OfficeFamily, Partial<Record<TargetName, ExportFilter>>> = {
  writer: {
    docx: { filter: "MS Word 2007 XML" },
    doc: { filter: "MS Word 97" },
    odt: { filter: "writer8" },
    rtf: { filter: "Rich Text Format" },
    // EmbedImages: one self-contained file with data: URIs instead of side files.
    html: { filter: "HTML (StarWriter)", filterOptions: "EmbedImages" },
    txt: { filter: "Text (encoded)", filterOptions: "UTF8,LF" },
    // EPUB 3, one chapter per heading; the title (RVNGTitle) is set per conversion. Never EPUBCoverImage or
    // EPUBMediaDir: both read paths from disk.
    epub: { filter: "EPUB" },
  },
  calc: {
    xlsx: { filter: "Calc MS Excel 2007 XML" },
    xls: { filter: "MS Excel 97" },
    ods: { filter: "calc8" },
    csv: { filter: CSV_IMPORT_FILTER, filterOptions: CSV_EXPORT_OPTIONS },
    // Calc's HTML export writes charts and images as side files; the pipeline inlines them.
    html: { filter: "HTML (StarCalc)" },
  },
  impress: {
    pptx: { filter: "Impress MS PowerPoint 2007 XML" },
    ppt: { filter: "MS PowerPoint 97" },
    odp: { filter: "impress8" },
    svg: { filter: SVG_PER_PAGE },
  },
  draw: {
    odg: { filter: "draw8" },
    svg: { filter: SVG_PER_PAGE },
  },
};

/** The filter that writes `target` from a document open in `family`; images and PDF both use PDF export. */
export function exportFilter(family: OfficeFamily, target: TargetName): ExportFilter {
  if (target === "pdf" || target === "png" || target === "jpg") return { filter: pdfFilter[family] };
  const found = filters[family][target];
  if (!found) throw new Error(`no export filter for ${family} → ${target}`);
  return found;
}

/** The extension LibreOffice's output carries before any post-processing. */
export function engineOutputExtension(target: TargetName): string {
  return target === "png" || target === "jpg" ? "pdf" : target;
}

/** EPUB export's FilterData: EPUB 3, split at headings, reflowable; the title is the upload's name. */
export function epubFilterData(title: string): Record<string, string | number> {
  return { EPUBVersion: 30, EPUBSplitMethod: 0, EPUBLayoutMethod: 0, RVNGTitle: title };
}
