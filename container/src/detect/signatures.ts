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

/** A signature at the start of the file (`at`, default 0). `then` adds a second check further on. */
export interface HeadSignature {
  bytes: string | readonly number[];
  at?: number;
  /** Search the first `within` bytes instead of matching at `at` (PDF allows junk before its header). */
  within?: number;
  then?: { at: number; bytes: string };
  /** What the file is: a format, or a container whose structure decides ("zip", "ole2", "pdf"). */
  is: string;
  /** A weak signature (two bytes, say) counts only under one of these extensions. */
  extensions?: readonly string[];
}

export const HEAD_SIGNATURES: readonly HeadSignature[] = [
  { bytes: "%PDF-", within: 1024, is: "pdf" },
  { bytes: [0x50, 0x4b, 0x03, 0x04], is: "zip" },
  { bytes: [0x50, 0x4b, 0x05, 0x06], is: "zip" }, // an empty archive
  { bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], is: "ole2" },
  { bytes: "{\\rtf", is: "rtf" },
  { bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], is: "png" },
  { bytes: [0xff, 0xd8, 0xff], is: "jpg" },
  { bytes: "GIF87a", is: "gif" },
  { bytes: "GIF89a", is: "gif" },
  { bytes: "RIFF", then: { at: 8, bytes: "WEBP" }, is: "webp" },
  { bytes: "II*\0", is: "tif" },
  { bytes: "MM\0*", is: "tif" },
  { bytes: "BM", is: "bmp", extensions: ["bmp"] },
];

/** ODF packages: the `mimetype` entry (or the manifest's root media type). */
export const ODF_MIMETYPES: Readonly<Record<string, { format: string; pages?: PageCount }>> = {
  "application/vnd.oasis.opendocument.text": { format: "odt" },
  "application/vnd.oasis.opendocument.text-template": { format: "ott" },
  "application/vnd.oasis.opendocument.text-web": { format: "oth" },
  "application/vnd.oasis.opendocument.text-master": { format: "odm" },
  "application/vnd.oasis.opendocument.text-master-template": { format: "otm" },
  "application/vnd.oasis.opendocument.spreadsheet": { format: "ods" },
  "application/vnd.oasis.opendocument.spreadsheet-template": { format: "ots" },
  "application/vnd.oasis.opendocument.presentation": { format: "odp", pages: { kind: "odf-pages", parent: "presentation" } },
  "application/vnd.oasis.opendocument.presentation-template": { format: "otp", pages: { kind: "odf-pages", parent: "presentation" } },
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
  "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": { format: "pptx", pages: { kind: "ooxml-slides" } },
  "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": { format: "potx", pages: { kind: "ooxml-slides" } },
  "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": { format: "ppsx", pages: { kind: "ooxml-slides" } },
  "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": { format: "pptm", pages: { kind: "ooxml-slides" } },
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
  { entry: "WordDocument", format: "doc" },
  { entry: "Workbook", format: "xls" },
  { entry: "Book", format: "xls" }, // BIFF5
  { entry: "PowerPoint Document", format: "ppt" },
];

/** Formats without a signature: text, told apart by extension only (see detect()'s rule). */
export const TEXT_EXTENSIONS: Readonly<Record<string, string>> = {
  csv: "csv",
  tsv: "csv",
  txt: "txt",
  text: "txt",
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
};

/** Every extension some row names: text under one of these names is a mismatch, not text. */
export function knownExtensions(): Set<string> {
  const known = new Set<string>(["pdf", "rtf", ...Object.keys(TEXT_EXTENSIONS), ...Object.keys(EXTENSION_ALIASES)]);
  for (const s of HEAD_SIGNATURES) if (s.is !== "zip" && s.is !== "ole2") known.add(s.is);
  for (const row of Object.values(ODF_MIMETYPES)) known.add(row.format);
  for (const row of Object.values(OOXML_MAIN_TYPES)) known.add(row.format);
  for (const row of OLE2_ROOT_ENTRIES) known.add(row.format);
  return known;
}

/** Formats whose page count the detector reads (and must read: see detect()). */
export function countedFormats(): Map<string, PageCount> {
  const counted = new Map<string, PageCount>([["pdf", { kind: "pdf" }]]);
  for (const row of [...Object.values(ODF_MIMETYPES), ...Object.values(OOXML_MAIN_TYPES)]) if (row.pages) counted.set(row.format, row.pages);
  return counted;
}
