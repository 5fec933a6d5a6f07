// The format matrix: the one source of truth. GET /formats publishes `catalog()`; the Worker imports this module
// (src/domain/matrix.ts) for its catalog, validation and pricing, so changes here are API changes.

/** How the catalog groups sources; image targets of any source are "images" too (src/domain/formats.ts). */
export type Category = "documents" | "spreadsheets" | "presentations" | "drawings" | "images";
/** Which LibreOffice module opens a source (HTML through Writer, pictures and metafiles through Draw); "pdf"
 * sources never touch LibreOffice. */
export type Family = "writer" | "calc" | "impress" | "draw" | "pdf";

export interface SourceFormat {
  category: Category;
  family: Family;
  mediaType: string;
  targets: readonly TargetName[];
  /**
   * The file-name extensions this source goes by, the canonical one first (the converter names the work file
   * with it). Several sources may share one (`xml`, `vor`, `uof`): the bytes decide between them.
   */
  extensions: readonly string[];
  /**
   * What the detector counts exactly from the file's structure (PDF page tree, pptx sldIdLst, odp draw:page),
   * never from metadata the uploader wrote. Absent: no exact count. The API prices per page only where it is
   * present, and tells the converter that many pages at most (maxPages).
   */
  countedUnit?: "pages" | "slides";
  /** The import filter the converter forces where LibreOffice's own type detection chooses wrongly. */
  importFilter?: string;
  /** FilterOptions for the import: without them some filters ask a question, and a headless load fails. */
  importOptions?: string;
  /** A picture (raster or metafile) opened in Draw: the page is sized to it before export. */
  picture?: true;
}

export interface TargetFormat {
  mediaType: string;
  /** true: one file carries every page; false: one file per page, slide or sheet, zipped when more than one. */
  multiPage: boolean;
  /** What a multi-file result is split by. */
  splitBy?: "page" | "sheet";
  options: readonly OptionName[];
}

export type TargetName =
  | "pdf"
  | "html"
  | "txt"
  | "docx"
  | "doc"
  | "odt"
  | "rtf"
  | "epub"
  | "csv"
  | "xlsx"
  | "xls"
  | "ods"
  | "pptx"
  | "ppt"
  | "odp"
  | "odg"
  | "svg"
  | "png"
  | "jpg";

export type OptionName = "pages" | "pdfa" | "dpi" | "quality" | "sheet" | "escapeFormulas";

export const targets: Record<TargetName, TargetFormat> = {
  pdf: { mediaType: "application/pdf", multiPage: true, options: ["pages", "pdfa"] },
  png: { mediaType: "image/png", multiPage: false, splitBy: "page", options: ["pages", "dpi"] },
  jpg: { mediaType: "image/jpeg", multiPage: false, splitBy: "page", options: ["pages", "dpi", "quality"] },
  // One SVG per slide or page (LibreOffice's GraphicExportFilter: no script, text kept), zipped like images.
  svg: { mediaType: "image/svg+xml", multiPage: false, splitBy: "page", options: ["pages"] },
  html: { mediaType: "text/html; charset=utf-8", multiPage: true, options: [] },
  txt: { mediaType: "text/plain; charset=utf-8", multiPage: true, options: [] },
  csv: {
    mediaType: "text/csv; charset=utf-8",
    multiPage: false,
    splitBy: "sheet",
    options: ["sheet", "escapeFormulas"],
  },
  docx: {
    mediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    multiPage: true,
    options: [],
  },
  doc: { mediaType: "application/msword", multiPage: true, options: [] },
  odt: { mediaType: "application/vnd.oasis.opendocument.text", multiPage: true, options: [] },
  rtf: { mediaType: "application/rtf", multiPage: true, options: [] },
  epub: { mediaType: "application/epub+zip", multiPage: true, options: [] },
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
  odg: { mediaType: "application/vnd.oasis.opendocument.graphics", multiPage: true, options: [] },
};

/** What each LibreOffice module writes; a source lists its module's targets except its own format. */
export const familyTargets: Record<Family, readonly TargetName[]> = {
  writer: ["pdf", "docx", "doc", "odt", "rtf", "txt", "html", "epub", "png", "jpg"],
  calc: ["pdf", "xlsx", "xls", "ods", "csv", "html", "png", "jpg"],
  impress: ["pdf", "pptx", "ppt", "odp", "png", "jpg", "svg"],
  draw: ["pdf", "png", "jpg", "svg", "odg"],
  pdf: ["png", "jpg"],
};

const categoryOfFamily: Record<Family, Category> = {
  writer: "documents",
  calc: "spreadsheets",
  impress: "presentations",
  draw: "drawings",
  pdf: "documents",
};

type Row = [
  family: Family,
  mediaType: string,
  more?: Partial<Omit<SourceFormat, "family" | "mediaType" | "targets">> & { keepSelf?: true },
];

// Forced imports (formats.tsv's converter notes): HTML opens in Writer/Web unless told Writer, whose model is
// not a TextDocument and whose PDF loses the first paragraph; .oth likewise; Calc's text imports ask for their
// options; the XML dialects are named so LibreOffice never guesses from a root it half reads.
const HTML = "HTML (StarWriter)";
const picture = (mediaType: string, extensions?: string[]): Row => [
  "draw",
  mediaType,
  { category: "images", picture: true, ...(extensions ? { extensions } : {}) },
];

/**
 * Every source, keyed by the name the detector reports (the API's `source_format`): formats.tsv's rows whose
 * status is `converts` or `detected-only` (test/fixtures/formats/). Targets come from the family.
 */
const rows = {
  // ---- text (Writer) ----
  docx: ["writer", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
  docm: ["writer", "application/vnd.ms-word.document.macroEnabled.12"],
  dotx: ["writer", "application/vnd.openxmlformats-officedocument.wordprocessingml.template"],
  dotm: ["writer", "application/vnd.ms-word.template.macroEnabled.12"],
  // Word 97 templates (.dot) carry the same streams; Kingsoft's .wps is a Word 97 file too.
  doc: ["writer", "application/msword", { extensions: ["doc", "dot"] }],
  odt: ["writer", "application/vnd.oasis.opendocument.text"],
  ott: ["writer", "application/vnd.oasis.opendocument.text-template"],
  oth: ["writer", "application/vnd.oasis.opendocument.text-web", { importFilter: "writer8_template" }],
  // A master document opens as a GlobalDocument (Writer); its linked sub-documents are never updated.
  odm: ["writer", "application/vnd.oasis.opendocument.text-master"],
  fodt: ["writer", "application/vnd.oasis.opendocument.text-flat-xml"],
  rtf: ["writer", "application/rtf"],
  txt: ["writer", "text/plain"],
  html: ["writer", "text/html", { extensions: ["html", "htm"], importFilter: HTML }],
  xhtml: ["writer", "application/xhtml+xml", { importFilter: HTML }],
  word2003xml: ["writer", "application/xml", { extensions: ["xml"], importFilter: "MS Word 2003 XML" }],
  docbook: ["writer", "application/docbook+xml", { extensions: ["xml"], importFilter: "DocBook File" }],
  sxw: ["writer", "application/vnd.sun.xml.writer"],
  stw: ["writer", "application/vnd.sun.xml.writer.template"],
  sxg: ["writer", "application/vnd.sun.xml.writer.global"],
  // StarOffice 5 binaries; a .vor template carries the streams of its kind.
  sdw: ["writer", "application/vnd.stardivision.writer", { extensions: ["sdw", "vor"] }],
  abw: ["writer", "application/x-abiword"],
  zabw: ["writer", "application/x-abiword-compressed"],
  pages: ["writer", "application/vnd.apple.pages"],
  wpd: ["writer", "application/vnd.wordperfect"],
  wps: ["writer", "application/vnd.ms-works"],
  wri: ["writer", "application/x-mswrite"],
  hwp: ["writer", "application/x-hwp"],
  lwp: ["writer", "application/vnd.lotus-wordpro"],
  cwk: ["writer", "application/x-appleworks"],
  mw: ["writer", "application/macwriteii", { extensions: ["mw", "mcw"] }],
  pdb: ["writer", "application/vnd.palm"],
  "602": ["writer", "application/x-t602", { importFilter: "T602Document" }],
  // ---- spreadsheets (Calc) ----
  xlsx: ["calc", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
  xlsm: ["calc", "application/vnd.ms-excel.sheet.macroEnabled.12"],
  xltx: ["calc", "application/vnd.openxmlformats-officedocument.spreadsheetml.template"],
  xltm: ["calc", "application/vnd.ms-excel.template.macroEnabled.12"],
  xlsb: ["calc", "application/vnd.ms-excel.sheet.binary.macroEnabled.12"],
  // Excel 97 templates and workspaces carry the same streams.
  xls: ["calc", "application/vnd.ms-excel", { extensions: ["xls", "xlt", "xlw"] }],
  ods: ["calc", "application/vnd.oasis.opendocument.spreadsheet"],
  ots: ["calc", "application/vnd.oasis.opendocument.spreadsheet-template"],
  fods: ["calc", "application/vnd.oasis.opendocument.spreadsheet-flat-xml"],
  // csv→csv is useful: it normalises separators, quoting and encoding. Its import options come from the bytes.
  csv: [
    "calc",
    "text/csv",
    { extensions: ["csv", "tsv"], keepSelf: true, importFilter: "Text - txt - csv (StarCalc)" },
  ],
  excel2003xml: ["calc", "application/xml", { extensions: ["xml"], importFilter: "MS Excel 2003 XML Orcus" }],
  sxc: ["calc", "application/vnd.sun.xml.calc"],
  stc: ["calc", "application/vnd.sun.xml.calc.template"],
  sdc: ["calc", "application/vnd.stardivision.calc", { extensions: ["sdc", "vor"] }],
  numbers: ["calc", "application/vnd.apple.numbers"],
  uos: ["calc", "application/vnd.uof.spreadsheet", { extensions: ["uos", "uof"] }],
  slk: ["calc", "application/x-sylk"],
  dif: ["calc", "application/x-dif", { importFilter: "DIF", importOptions: "UTF-8" }],
  "123": ["calc", "application/vnd.lotus-1-2-3"],
  wk1: ["calc", "application/vnd.lotus-1-2-3"],
  wk3: ["calc", "application/vnd.lotus-1-2-3"],
  wk4: ["calc", "application/vnd.lotus-1-2-3"],
  wks: ["calc", "application/vnd.ms-works"],
  wb2: ["calc", "application/x-quattro-pro"],
  wq1: ["calc", "application/x-quattro-pro"],
  qpw: ["calc", "application/x-quattro-pro"],
  // ---- presentations (Impress) ----
  pptx: [
    "impress",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    { countedUnit: "slides" },
  ],
  pptm: ["impress", "application/vnd.ms-powerpoint.presentation.macroEnabled.12"],
  potx: ["impress", "application/vnd.openxmlformats-officedocument.presentationml.template"],
  potm: ["impress", "application/vnd.ms-powerpoint.template.macroEnabled.12"],
  ppsx: ["impress", "application/vnd.openxmlformats-officedocument.presentationml.slideshow"],
  ppsm: ["impress", "application/vnd.ms-powerpoint.slideshow.macroEnabled.12"],
  // Slide shows and templates of PowerPoint 97 differ from a .ppt only by their name.
  ppt: ["impress", "application/vnd.ms-powerpoint", { extensions: ["ppt", "pps", "pot"] }],
  odp: ["impress", "application/vnd.oasis.opendocument.presentation", { countedUnit: "slides" }],
  otp: ["impress", "application/vnd.oasis.opendocument.presentation-template"],
  fodp: ["impress", "application/vnd.oasis.opendocument.presentation-flat-xml"],
  sxi: ["impress", "application/vnd.sun.xml.impress"],
  sti: ["impress", "application/vnd.sun.xml.impress.template"],
  sdd: ["impress", "application/vnd.stardivision.impress", { extensions: ["sdd", "vor"] }],
  key: ["impress", "application/vnd.apple.keynote"],
  uop: ["impress", "application/vnd.uof.presentation", { extensions: ["uop", "uof"] }],
  // A metafile LibreOffice opens in Impress.
  cgm: ["impress", "image/cgm", { category: "drawings" }],
  // ---- drawings (Draw) ----
  odg: ["draw", "application/vnd.oasis.opendocument.graphics"],
  otg: ["draw", "application/vnd.oasis.opendocument.graphics-template"],
  fodg: ["draw", "application/vnd.oasis.opendocument.graphics-flat-xml"],
  sxd: ["draw", "application/vnd.sun.xml.draw"],
  std: ["draw", "application/vnd.sun.xml.draw.template"],
  sda: ["draw", "application/vnd.stardivision.draw", { extensions: ["sda", "vor"] }],
  vsd: ["draw", "application/vnd.visio"],
  vsdx: ["draw", "application/vnd.ms-visio.drawing"],
  vsdm: ["draw", "application/vnd.ms-visio.drawing.macroEnabled.12"],
  vdx: ["draw", "application/vnd.visio"],
  pub: ["draw", "application/vnd.ms-publisher"],
  cdr: ["draw", "application/vnd.corel-draw"],
  cmx: ["draw", "image/x-cmx"],
  wpg: ["draw", "application/vnd.wordperfect.graphics"],
  dxf: ["draw", "image/vnd.dxf"],
  svg: ["draw", "image/svg+xml", { picture: true }],
  svgz: ["draw", "image/svg+xml", { picture: true }],
  emf: ["draw", "image/emf", { picture: true }],
  wmf: ["draw", "image/wmf", { picture: true }],
  svm: ["draw", "image/x-svm", { picture: true }],
  met: ["draw", "image/x-met", { picture: true }],
  // ---- pictures (Draw) ----
  png: picture("image/png"),
  jpg: picture("image/jpeg", ["jpg", "jpeg"]),
  gif: picture("image/gif"),
  webp: picture("image/webp"),
  tif: picture("image/tiff", ["tif", "tiff"]),
  bmp: picture("image/bmp"),
  psd: picture("image/vnd.adobe.photoshop"),
  pcx: picture("image/x-pcx"),
  pct: picture("image/x-pict"),
  pcd: picture("image/x-photo-cd"),
  tga: picture("image/x-tga"),
  ras: picture("image/x-cmu-raster"),
  pbm: picture("image/x-portable-bitmap"),
  pgm: picture("image/x-portable-graymap"),
  ppm: picture("image/x-portable-pixmap"),
  xbm: picture("image/x-xbitmap"),
  xpm: picture("image/x-xpixmap"),
  // ---- PDF: never through LibreOffice (pdftoppm) ----
  pdf: ["pdf", "application/pdf", { countedUnit: "pages" }],
} satisfies Record<string, Row>;

export type SourceName = keyof typeof rows;

function build(name: string, [family, mediaType, more = {}]: Row): SourceFormat {
  const { keepSelf, ...rest } = more;
  return {
    category: categoryOfFamily[family],
    family,
    mediaType,
    targets: familyTargets[family].filter((t) => keepSelf || t !== name),
    extensions: [name],
    ...rest,
  };
}

export const sources = Object.fromEntries(
  Object.entries(rows).map(([name, row]) => [name, build(name, row as Row)]),
) as Record<SourceName, SourceFormat>;

/** Each extension's sources (most have one; `xml`, `vor`, `uof` name several the bytes tell apart). */
export const sourcesByExtension: ReadonlyMap<string, readonly SourceName[]> = (() => {
  const map = new Map<string, SourceName[]>();
  for (const [name, format] of Object.entries(sources) as [SourceName, SourceFormat][]) {
    for (const ext of format.extensions) map.set(ext, [...(map.get(ext) ?? []), name]);
  }
  return map;
})();

/** Targets rendered from a PDF export by pdftoppm. */
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

function appliesTo(option: OptionName): TargetName[] {
  return (Object.keys(targets) as TargetName[]).filter((t) => targets[t].options.includes(option));
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
        appliesTo: appliesTo("pages"),
        example: "1-3,5",
        description:
          "1-based pages or slides to keep, comma-separated numbers and ranges. For images (and SVG) a single " +
          "page returns one file, several return a ZIP of page-NNN.<ext> named by page number.",
      },
      pdfa: {
        type: "enum",
        appliesTo: appliesTo("pdfa"),
        values: limits.pdfa,
        description: "PDF/A conformance level.",
      },
      dpi: { type: "integer", appliesTo: appliesTo("dpi"), ...limits.dpi, description: "Raster resolution." },
      quality: { type: "integer", appliesTo: appliesTo("quality"), ...limits.quality, description: "JPEG quality." },
      sheet: {
        type: "string",
        appliesTo: appliesTo("sheet"),
        default: "the workbook's active sheet",
        description: "1-based sheet index, a sheet name, or 'all' for a ZIP with one <n>-<sheet name>.csv per sheet.",
      },
      escapeFormulas: {
        type: "boolean",
        appliesTo: appliesTo("escapeFormulas"),
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
