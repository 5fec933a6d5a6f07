// Text with a signature of its own: markup told apart by its root element (HTML, XHTML, SVG, flat ODF, the
// Office 2003 XML dialects, DocBook, AbiWord, UOF, Visio XML, MathML) and the line-based formats that start
// with a keyword (SYLK, DIF, DXF, XPM, XBM). One forward pass over the decoded head with indexOf: no regular
// expressions, nothing read past the head.

import { type InternalSubset, readInternalSubset } from "./entities.ts";
import { elementAttributes } from "./xml.ts";

/** What the prolog and the root element say, as far as the head reaches. */
export interface Prolog {
  xmlDeclaration: boolean;
  /** `<?mso-application progid="…"?>` (Office 2003 XML). */
  progid?: string;
  /** The DOCTYPE's text between `<!DOCTYPE` and its end. */
  doctype?: string;
  /** The DOCTYPE's internal subset, read (its entities are budgeted by entities.ts). */
  subset?: InternalSubset;
  /** The DOCTYPE does not end within the text (a longer window may tell more). */
  doctypeCut?: boolean;
  /** Why the internal subset cannot be read (malformed). */
  subsetError?: string;
  /** The root element's qualified name and attributes (values raw). */
  root?: { name: string; attributes: Record<string, string> };
}

const MAX_PROLOG_ITEMS = 64;

export function readProlog(text: string): Prolog {
  const prolog: Prolog = { xmlDeclaration: false };
  let i = skipSpace(text, text.charCodeAt(0) === 0xfeff ? 1 : 0);
  for (let items = 0; items < MAX_PROLOG_ITEMS && i < text.length && text[i] === "<"; items++) {
    if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2);
      if (end < 0) return prolog;
      const pi = text.slice(i + 2, end);
      if (pi.startsWith("xml ") || pi === "xml") prolog.xmlDeclaration = true;
      else if (pi.startsWith("mso-application"))
        prolog.progid = elementAttributes(`<${pi}>`, "mso-application")[0]?.progid;
      i = skipSpace(text, end + 2);
    } else if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) return prolog;
      i = skipSpace(text, end + 3);
    } else if (text.slice(i, i + 9).toUpperCase() === "<!DOCTYPE") {
      // The name and external id (a quoted literal may hold '[' or '>'), then the internal subset ([…]) if any,
      // read declaration by declaration (an entity's value may hold ']' and '>' too).
      let end = i + 9;
      while (end < text.length && text[end] !== "[" && text[end] !== ">") {
        const c = text[end]!;
        // An unclosed quote (sloppy HTML) is a plain character.
        const close = c === '"' || c === "'" ? text.indexOf(c, end + 1) : -1;
        end = close < 0 ? end + 1 : close + 1;
      }
      if (text[end] === "[") {
        const subset = readInternalSubset(text, end + 1);
        if ("malformed" in subset) {
          prolog.subsetError = subset.malformed;
          return prolog;
        }
        if ("incomplete" in subset) end = text.length;
        else {
          prolog.subset = subset;
          end = skipSpace(text, subset.end);
          if (end < text.length && text[end] !== ">") {
            prolog.subsetError = "the DOCTYPE does not end after its internal subset";
            return prolog;
          }
        }
      }
      if (end >= text.length) {
        prolog.doctypeCut = true;
        return prolog;
      }
      prolog.doctype = text.slice(i + 9, end);
      i = skipSpace(text, end + 1);
    } else {
      const end = text.indexOf(">", i);
      if (end < 0) return prolog;
      let nameEnd = i + 1;
      while (nameEnd < end && !isNameEnd(text.charCodeAt(nameEnd))) nameEnd++;
      const name = text.slice(i + 1, nameEnd);
      if (!name) return prolog;
      prolog.root = { name, attributes: elementAttributes(text.slice(i, end + 1), localName(name))[0] ?? {} };
      return prolog;
    }
  }
  return prolog;
}

const FLAT_ODF: Readonly<Record<string, string>> = {
  "application/vnd.oasis.opendocument.text": "fodt",
  "application/vnd.oasis.opendocument.spreadsheet": "fods",
  "application/vnd.oasis.opendocument.presentation": "fodp",
  "application/vnd.oasis.opendocument.graphics": "fodg",
};

const UOF: Readonly<Record<string, string>> = {
  "vnd.uof.text": "uot",
  "vnd.uof.spreadsheet": "uos",
  "vnd.uof.presentation": "uop",
};

const XHTML_NS = "http://www.w3.org/1999/xhtml";

/**
 * The format a markup head names, "xml" for XML of no known dialect, or null when the text is not markup.
 * `text` is the decoded head.
 */
export function markupFormat(text: string): string | null {
  return markupFormatOf(readProlog(text));
}

/** markupFormat, from a prolog already read. */
export function markupFormatOf(prolog: Prolog): string | null {
  const root = prolog.root;
  const doctype = prolog.doctype?.trim() ?? "";
  if (!root) {
    if (doctype.toLowerCase().startsWith("html")) return "html";
    return prolog.xmlDeclaration || doctype ? "xml" : null;
  }
  const local = localName(root.name);
  const lower = local.toLowerCase();
  const ns = (prefix: string) => root.attributes[prefix ? `xmlns:${prefix}` : "xmlns"] ?? "";
  const prefix = root.name.includes(":") ? root.name.slice(0, root.name.indexOf(":")) : "";
  if (lower === "html") return prolog.xmlDeclaration && ns(prefix) === XHTML_NS ? "xhtml" : "html";
  if ((lower === "head" || lower === "body") && !prolog.xmlDeclaration) return "html";
  if (local === "document" && root.attributes[`${prefix}:mimetype`])
    return FLAT_ODF[root.attributes[`${prefix}:mimetype`]!] ?? "xml";
  if (prolog.progid === "Word.Document" || local === "wordDocument") return "word2003xml";
  if (
    prolog.progid === "Excel.Sheet" ||
    (local === "Workbook" && ns(prefix) === "urn:schemas-microsoft-com:office:spreadsheet")
  )
    return "excel2003xml";
  if (local === "abiword" || local === "awml") return "abw";
  if (local === "svg") return "svg";
  if (local === "VisioDocument") return "vdx";
  if (local === "math") return "mml";
  if (local === "UOF") return UOF[root.attributes[`${prefix}:mimetype`] ?? ""] ?? "xml";
  const docbook = doctype.includes("DocBook") || ns(prefix) === "http://docbook.org/ns/docbook";
  if (docbook && (local === "book" || local === "article" || local === "chapter")) return "docbook";
  if (!prolog.xmlDeclaration && !doctype && !root.attributes.xmlns) return null; // a '<' that starts plain text
  return "xml";
}

/** Line formats that open with a keyword: SYLK, DIF (not NASA's XML .dif), DXF, XPM, XBM. */
export function keywordFormat(text: string): string | null {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (text.startsWith("ID;P", start)) return "slk";
  if (text.startsWith("/* XPM */", start)) return "xpm";
  if (text.startsWith("#define ", start)) {
    const line = text.slice(start, lineEnd(text, start));
    if (line.endsWith("_width") || line.includes("_width ")) return "xbm";
  }
  // DIF: "TABLE", then a line "0,1".
  if (text.startsWith("TABLE", start)) {
    const next = lineEnd(text, start) + 1;
    if (text.startsWith("0,1", next + (text[next] === "\n" ? 1 : 0))) return "dif";
  }
  // DXF: group code 0 then SECTION, after optional 999 comment pairs.
  let i = start;
  for (let pairs = 0; pairs < 16 && i < text.length; pairs++) {
    const codeEnd = lineEnd(text, i);
    const code = text.slice(i, codeEnd).trim();
    const valueStart = codeEnd + 1 + (text[codeEnd] === "\r" && text[codeEnd + 1] === "\n" ? 1 : 0);
    const valueEnd = lineEnd(text, valueStart);
    const value = text.slice(valueStart, valueEnd).trim();
    if (code === "0" && value === "SECTION") return "dxf";
    if (code !== "999") break;
    i = valueEnd + 1 + (text[valueEnd] === "\r" && text[valueEnd + 1] === "\n" ? 1 : 0);
  }
  return null;
}

function lineEnd(text: string, from: number): number {
  const n = text.indexOf("\n", from);
  const r = text.indexOf("\r", from);
  const end = n < 0 ? r : r < 0 ? n : Math.min(n, r);
  return end < 0 ? text.length : end;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && text.charCodeAt(i) <= 0x20) i++;
  return i;
}

function isNameEnd(c: number): boolean {
  return c <= 0x20 || c === 0x2f || c === 0x3e;
}

function localName(qname: string): string {
  const colon = qname.lastIndexOf(":");
  return colon >= 0 ? qname.slice(colon + 1) : qname;
}
