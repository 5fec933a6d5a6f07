// The detector's tables: what bytes, package structures and (for text only) extensions mean. Adding a format
// is adding a row here: a head signature, an ODF mimetype, an OOXML main-part content type, an OLE2 root
// stream name, or a text extension. The code in index.ts walks the tables; it does not name formats itself.

/** How a format's pages are counted exactly from its structure (only these formats are ever counted). */
export type PageCount =
  | { kind: "pdf" }
  /** OOXML presentations: `p:sldId` children of `p:sldIdLst` in the main part. */
  | { kind: "ooxml-slides" }
  /** ODF and StarOffice presentations: `draw:page` children of `parent` in content.xml. */
  | { kind: "odf-pages"; parent: string };

/** A signature at the start of the file (`at`, default 0). `andAt` adds a second check further on. */
export interface HeadSignature {
  bytes: string | readonly number[];
  at?: number;
  /** Search the first `within` bytes instead of matching at `at` (PDF allows junk before its header). */
  within?: number;
  andAt?: { at: number; bytes: string | readonly number[] };
  /** A further check on the head (a header field's plausible values). */
  test?: (head: Uint8Array) => boolean;
  /** What the file is: a format, or a container whose structure decides ("zip", "ole2", "pdf", "gzip"). */
  is: string;
  /** A weak signature (two bytes, say) counts only under one of these extensions. */
  extensions?: readonly string[];
}

const u16le = (b: Uint8Array, p: number) => (b[p] ?? 0) | ((b[p + 1] ?? 0) << 8);
const u32le = (b: Uint8Array, p: number) => (u16le(b, p) | (u16le(b, p + 2) << 16)) >>> 0;
const oneOf = (value: number | undefined, allowed: readonly number[]) => value !== undefined && allowed.includes(value);
const PNM_SPACE = [0x09, 0x0a, 0x0d, 0x20];

export const HEAD_SIGNATURES: readonly HeadSignature[] = [
  { bytes: "%PDF-", within: 1024, is: "pdf" },
  { bytes: [0x50, 0x4b, 0x03, 0x04], is: "zip" },
  { bytes: [0x50, 0x4b, 0x05, 0x06], is: "zip" }, // an empty archive
  { bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], is: "ole2" },
  // gzip: a compressed AbiWord document (.zabw) or SVG (.svgz), told apart by the inflated head.
  { bytes: [0x1f, 0x8b, 0x08], is: "gzip" },
  { bytes: "{\\rtf", is: "rtf" },
  // Pictures and metafiles.
  { bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], is: "png" },
  { bytes: [0xff, 0xd8, 0xff], is: "jpg" },
  { bytes: "GIF87a", is: "gif" },
  { bytes: "GIF89a", is: "gif" },
  { bytes: "RIFF", andAt: { at: 8, bytes: "WEBP" }, is: "webp" },
  { bytes: "RIFF", andAt: { at: 8, bytes: "CDR" }, is: "cdr" },
  { bytes: "RIFF", andAt: { at: 8, bytes: "CMX1" }, is: "cmx" },
  { bytes: "II*\0", is: "tif" },
  { bytes: "MM\0*", is: "tif" },
  // BMP: "BM" and a DIB header size that exists.
  { bytes: "BM", test: (h) => oneOf(u32le(h, 14), [12, 40, 52, 56, 64, 108, 124]), is: "bmp" },
  { bytes: "8BPS", andAt: { at: 4, bytes: [0x00, 0x01] }, is: "psd" },
  { bytes: [0x59, 0xa6, 0x6a, 0x95], is: "ras" },
  { bytes: "VCLMTF", is: "svm" },
  { bytes: "SVGDI", is: "svm" },
  { bytes: [0x01, 0x00, 0x00, 0x00], andAt: { at: 40, bytes: " EMF" }, is: "emf" },
  { bytes: [0xd7, 0xcd, 0xc6, 0x9a], is: "wmf" }, // placeable
  { bytes: [0x01, 0x00, 0x09, 0x00, 0x00, 0x03], is: "wmf", extensions: ["wmf"] },
  { bytes: [0x02, 0x00, 0x09, 0x00, 0x00, 0x03], is: "wmf", extensions: ["wmf"] },
  { bytes: "PCD_IPI", at: 0x800, is: "pcd" },
  { bytes: "AutoCAD Binary DXF", is: "dxf" },
  // Weak signatures, under their own names only.
  { bytes: "P1", test: (h) => oneOf(h[2], PNM_SPACE), is: "pbm", extensions: ["pbm", "pgm", "ppm", "pnm"] },
  { bytes: "P4", test: (h) => oneOf(h[2], PNM_SPACE), is: "pbm", extensions: ["pbm", "pgm", "ppm", "pnm"] },
  { bytes: "P2", test: (h) => oneOf(h[2], PNM_SPACE), is: "pgm", extensions: ["pbm", "pgm", "ppm", "pnm"] },
  { bytes: "P5", test: (h) => oneOf(h[2], PNM_SPACE), is: "pgm", extensions: ["pbm", "pgm", "ppm", "pnm"] },
  { bytes: "P3", test: (h) => oneOf(h[2], PNM_SPACE), is: "ppm", extensions: ["pbm", "pgm", "ppm", "pnm"] },
  { bytes: "P6", test: (h) => oneOf(h[2], PNM_SPACE), is: "ppm", extensions: ["pbm", "pgm", "ppm", "pnm"] },
  { bytes: [0x0a], test: (h) => oneOf(h[1], [0, 2, 3, 4, 5]) && h[2] === 1, is: "pcx", extensions: ["pcx"] },
  // PICT: the version opcode after the 512-byte header (or at the start of a file saved without it).
  { bytes: [], test: (h) => pictAt(h, 522) || pictAt(h, 10), is: "pct", extensions: ["pct", "pict"] },
  // CGM: binary (first element BEGIN METAFILE: class 0, id 1) or clear text.
  {
    bytes: [],
    test: (h) => h.length >= 2 && h[0]! >> 4 === 0 && ((h[0]! << 8) | h[1]!) >> 5 === 1,
    is: "cgm",
    extensions: ["cgm"],
  },
  { bytes: "BEGMF", is: "cgm", extensions: ["cgm"] },
  { bytes: [0xd3, 0xa8, 0xa8], at: 2, is: "met", extensions: ["met"] },
  // TGA has no magic: a header whose fields hold plausible values, under its own name.
  {
    bytes: [],
    test: (h) =>
      h.length >= 18 && oneOf(h[1], [0, 1]) && oneOf(h[2], [1, 2, 3, 9, 10, 11]) && oneOf(h[16], [8, 15, 16, 24, 32]),
    is: "tga",
    extensions: ["tga"],
  },
  // Word processors and spreadsheets of the 1990s.
  { bytes: [0xff, 0x57, 0x50, 0x43], andAt: { at: 8, bytes: [0x01, 0x0a] }, is: "wpd" },
  { bytes: [0xff, 0x57, 0x50, 0x43], andAt: { at: 8, bytes: [0x01, 0x16] }, is: "wpg" },
  { bytes: "HWP Document File V", is: "hwp" },
  { bytes: "WordPro", is: "lwp" },
  { bytes: "BOBO", at: 4, is: "cwk" },
  { bytes: "TEXtREAd", at: 60, is: "pdb" },
  { bytes: "TEXtTlDc", at: 60, is: "pdb" },
  { bytes: "DataPlkr", at: 60, is: "pdb" },
  { bytes: "PNRdPPrs", at: 60, is: "pdb" },
  { bytes: "zTXTGPlm", at: 60, is: "pdb" },
  { bytes: [0x31, 0xbe, 0x00, 0x00, 0x00, 0xab], is: "wri" },
  { bytes: [0x32, 0xbe, 0x00, 0x00, 0x00, 0xab], is: "wri" },
  // Lotus 1-2-3 (BOF record 00 00, length 1A 00, version) and Quattro Pro / Works (length 02 00).
  { bytes: [0x00, 0x00, 0x1a, 0x00, 0x00, 0x10, 0x04, 0x00], is: "wk3" },
  { bytes: [0x00, 0x00, 0x1a, 0x00, 0x02, 0x10, 0x04, 0x00], is: "wk4" },
  { bytes: [0x00, 0x00, 0x1a, 0x00, 0x03, 0x10, 0x04, 0x00], is: "123" },
  { bytes: [0x00, 0x00, 0x1a, 0x00, 0x05, 0x10, 0x04, 0x00], is: "123" },
  { bytes: [0x00, 0x00, 0x02, 0x00, 0x06, 0x04], is: "wk1" },
  { bytes: [0x00, 0x00, 0x02, 0x00, 0x04, 0x04], is: "wks" },
  { bytes: [0x00, 0x00, 0x02, 0x00, 0x02, 0x10], is: "wb2" },
  { bytes: [0x00, 0x00, 0x02, 0x00, 0x20, 0x51], is: "wq1" },
];

function pictAt(head: Uint8Array, at: number): boolean {
  const a = head[at],
    b = head[at + 1],
    c = head[at + 2],
    d = head[at + 3];
  return (a === 0x00 && b === 0x11 && c === 0x02 && d === 0xff) || (a === 0x11 && b === 0x01);
}

/** Binary formats without any signature: only their name says what they are (MacWrite keeps no magic). */
export const EXTENSION_ONLY: Readonly<Record<string, string>> = { mw: "mw", mcw: "mw" };

/** ODF packages: the `mimetype` entry (or the manifest's root media type). */
export const ODF_MIMETYPES: Readonly<Record<string, { format: string; pages?: PageCount }>> = {
  "application/vnd.oasis.opendocument.text": { format: "odt" },
  "application/vnd.oasis.opendocument.text-template": { format: "ott" },
  "application/vnd.oasis.opendocument.text-web": { format: "oth" },
  "application/vnd.oasis.opendocument.text-master": { format: "odm" },
  "application/vnd.oasis.opendocument.text-master-template": { format: "otm" },
  "application/vnd.oasis.opendocument.spreadsheet": { format: "ods" },
  "application/vnd.oasis.opendocument.spreadsheet-template": { format: "ots" },
  "application/vnd.oasis.opendocument.presentation": {
    format: "odp",
    pages: { kind: "odf-pages", parent: "presentation" },
  },
  "application/vnd.oasis.opendocument.presentation-template": {
    format: "otp",
    pages: { kind: "odf-pages", parent: "presentation" },
  },
  "application/vnd.oasis.opendocument.graphics": { format: "odg" },
  "application/vnd.oasis.opendocument.graphics-template": { format: "otg" },
  "application/vnd.oasis.opendocument.formula": { format: "odf" },
  // StarOffice 6 / OpenOffice.org 1 XML: the same package, older names; its slides sit in office:body.
  "application/vnd.sun.xml.writer": { format: "sxw" },
  "application/vnd.sun.xml.writer.template": { format: "stw" },
  "application/vnd.sun.xml.writer.global": { format: "sxg" },
  "application/vnd.sun.xml.calc": { format: "sxc" },
  "application/vnd.sun.xml.calc.template": { format: "stc" },
  "application/vnd.sun.xml.impress": { format: "sxi", pages: { kind: "odf-pages", parent: "body" } },
  "application/vnd.sun.xml.impress.template": { format: "sti", pages: { kind: "odf-pages", parent: "body" } },
  "application/vnd.sun.xml.draw": { format: "sxd" },
  "application/vnd.sun.xml.draw.template": { format: "std" },
  "application/vnd.sun.xml.math": { format: "sxm" },
  // Not ODF, the same package convention: LibreOffice 7.4 has no EPUB import.
  "application/epub+zip": { format: "epub" },
};

/** OOXML packages: the content type of the main part (the package relationship `officeDocument`'s target). */
export const OOXML_MAIN_TYPES: Readonly<Record<string, { format: string; pages?: PageCount }>> = {
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": { format: "docx" },
  "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": { format: "dotx" },
  "application/vnd.ms-word.document.macroEnabled.main+xml": { format: "docm" },
  "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": { format: "dotm" },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": { format: "xlsx" },
  "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": { format: "xltx" },
  "application/vnd.ms-excel.sheet.macroEnabled.main+xml": { format: "xlsm" },
  "application/vnd.ms-excel.template.macroEnabled.main+xml": { format: "xltm" },
  "application/vnd.ms-excel.sheet.binary.macroEnabled.main": { format: "xlsb" },
  "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": {
    format: "pptx",
    pages: { kind: "ooxml-slides" },
  },
  "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": {
    format: "potx",
    pages: { kind: "ooxml-slides" },
  },
  "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": {
    format: "ppsx",
    pages: { kind: "ooxml-slides" },
  },
  "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": {
    format: "pptm",
    pages: { kind: "ooxml-slides" },
  },
  "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml": { format: "ppsm", pages: { kind: "ooxml-slides" } },
  "application/vnd.ms-powerpoint.template.macroEnabled.main+xml": { format: "potm", pages: { kind: "ooxml-slides" } },
  "application/vnd.ms-visio.drawing.main+xml": { format: "vsdx" },
  "application/vnd.ms-visio.drawing.macroEnabled.main+xml": { format: "vsdm" },
};

/** Last resort for packages whose content types do not name their main part: a part that only one kind has. */
export const OOXML_MAIN_PARTS: Readonly<Record<string, string>> = {
  "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
  "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
  "xl/workbook.bin": "application/vnd.ms-excel.sheet.binary.macroEnabled.main",
  "ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
};

/** OLE2 compound files: a stream or storage directly under the root, first match wins. */
export const OLE2_ROOT_ENTRIES: readonly { entry: string; format: string }[] = [
  // Encrypted OOXML (ECMA-376 agile or standard encryption): the package inside cannot be seen.
  { entry: "EncryptedPackage", format: "ooxml-encrypted" },
  // Publisher before Works: both hold a CONTENTS stream.
  { entry: "Quill", format: "pub" },
  { entry: "WordDocument", format: "doc" },
  { entry: "Workbook", format: "xls" },
  { entry: "Book", format: "xls" }, // BIFF5
  { entry: "PowerPoint Document", format: "ppt" },
  { entry: "VisioDocument", format: "vsd" },
  { entry: "NativeContent_MAIN", format: "qpw" },
  // StarOffice 5 (and its .vor templates): the stream of its kind. Draw and Impress share StarDrawDocument3
  // (StarImpress stamps its class id on the root entry: see identifyOle2).
  { entry: "StarWriterDocument", format: "sdw" },
  { entry: "StarCalcDocument", format: "sdc" },
  { entry: "StarDrawDocument3", format: "sda" },
  { entry: "StarMathDocument", format: "smf" },
  // HWP 5 (Hangul since 2002): LibreOffice 7.4 reads HWP up to 3.0 only.
  { entry: "FileHeader", format: "hwp5" },
  { entry: "CONTENTS", format: "wps" },
];

/**
 * Text named as text: these names decide for text (see detect()'s rule), before any signature text may have
 * (a .txt of HTML stays text). T602 has no signature at all.
 */
export const TEXT_EXTENSIONS: Readonly<Record<string, string>> = {
  csv: "csv",
  tsv: "csv",
  txt: "txt",
  text: "txt",
  "602": "602",
};

/** Other spellings of an extension. */
export const EXTENSION_ALIASES: Readonly<Record<string, string>> = { jpeg: "jpg", tiff: "tif" };

/** How a format reads in an error message. */
export const DESCRIPTIONS: Readonly<Record<string, string>> = {
  png: "a PNG image",
  jpg: "a JPEG image",
  gif: "a GIF image",
  webp: "a WebP image",
  tif: "a TIFF image",
  bmp: "a BMP image",
  txt: "plain text",
  csv: "CSV text",
  zip: "a zip archive that is not an Office or OpenDocument package",
  ole2: "an OLE2 compound document of an unsupported kind",
  xlsb: "an Excel binary workbook (xlsb)",
  "ooxml-encrypted": "an encrypted Office Open XML document",
  gzip: "a gzip file that is neither a compressed AbiWord document nor SVG",
  hwp5: "a Hangul HWP 5 document (LibreOffice reads HWP up to 3.0)",
  smf: "a StarMath 5 formula",
  epub: "an EPUB book (LibreOffice has no EPUB import)",
  mml: "a MathML formula",
  odf: "an OpenDocument formula",
  sxm: "a StarOffice formula",
  uot: "a UOF text document (LibreOffice's UOF text import does not finish)",
  xml: "XML of no document format LibreOffice converts",
  iwork: "an Apple iWork document of unknown kind (name it .pages, .numbers or .key)",
};

/** Every extension some row names: text under one of these names is a mismatch, not text. */
export function knownExtensions(): Set<string> {
  const known = new Set<string>(["pdf", "rtf", ...Object.keys(TEXT_EXTENSIONS), ...Object.keys(EXTENSION_ALIASES)]);
  for (const s of HEAD_SIGNATURES) if (s.is !== "zip" && s.is !== "ole2" && s.is !== "gzip") known.add(s.is);
  for (const format of Object.values(EXTENSION_ONLY)) known.add(format);
  for (const row of Object.values(ODF_MIMETYPES)) known.add(row.format);
  for (const row of Object.values(OOXML_MAIN_TYPES)) known.add(row.format);
  for (const row of OLE2_ROOT_ENTRIES) known.add(row.format);
  return known;
}

/** Formats whose page count the detector reads (and must read: see detect()). */
export function countedFormats(): Map<string, PageCount> {
  const counted = new Map<string, PageCount>([["pdf", { kind: "pdf" }]]);
  for (const row of [...Object.values(ODF_MIMETYPES), ...Object.values(OOXML_MAIN_TYPES)])
    if (row.pages) counted.set(row.format, row.pages);
  return counted;
}
