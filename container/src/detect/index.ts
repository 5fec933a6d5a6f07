// The one detector, for the Worker (uploads) and the converter (its temp file): what a document is, from its
// bytes, and how many pages or slides it has where its structure says so exactly. Pure: web standards only
// (no node: imports, no dependencies), bounded reads through a ByteSource, linear time, no regular expressions
// over the document's bytes.
//
// The rule for names: the bytes decide. The extension is consulted only where the bytes cannot: text named as
// text (`.csv`/`.tsv` → csv, `.txt`/`.text` → txt, `.602` → T602), text without a name (csv when the first lines
// split the same way on one separator, else txt), formats with no signature at all (EXTENSION_ONLY), weak
// signatures (signatures.ts's `extensions`), and an Apple iWork 2013 package (Pages, Numbers and Keynote look
// alike). Text with a signature of its own (markup.ts: HTML, XML dialects, SYLK, DIF…) is that format; other
// text under a known extension is a mismatch. Among documents the bytes win (a .ppsx saved as pptx, an RTF
// named .doc); a picture under a document's name (a PNG named .docx), or the reverse, is a mismatch.

import { isSource, sources, sourcesByExtension } from "../formats.ts";
import { ENTITY_LIMITS, entityBudget, ReferenceCounter } from "./entities.ts";
import { keywordFormat, markupFormatOf, type Prolog, readProlog } from "./markup.ts";
import { rootDirectory } from "./ole2.ts";
import { pdfStructure } from "./pdf.ts";
import {
  countedFormats,
  DESCRIPTIONS,
  EXTENSION_ALIASES,
  EXTENSION_ONLY,
  HEAD_SIGNATURES,
  knownExtensions,
  ODF_MIMETYPES,
  OLE2_ROOT_ENTRIES,
  OOXML_MAIN_PARTS,
  OOXML_MAIN_TYPES,
  type PageCount,
  TEXT_EXTENSIONS,
} from "./signatures.ts";
import { ascii, type ByteSource, DetectError, indexOf, inflate, Reader, type Work } from "./source.ts";
import { decodeHead, looksLikeCsv, looksLikeText, TEXT_SAMPLE_BYTES, type TextEncoding } from "./text.ts";
import { ChildCounter, elementAttributes } from "./xml.ts";
import {
  declaredBombReason,
  type EntrySink,
  inflateAll,
  readDirectory,
  readEntry,
  readEntryText,
  type SmallInflater,
  ZIP_LIMITS,
  type ZipDirectory,
  type ZipEntry,
} from "./zip.ts";

export { ENTITY_LIMITS } from "./entities.ts";
export { EXTENSION_ONLY, TEXT_EXTENSIONS } from "./signatures.ts";
export type { ByteSource, Work } from "./source.ts";
export { bytesSource, withKnownRanges } from "./source.ts";
export { decodeHead, guessSeparator, wholeLines } from "./text.ts";
export { SMALL_ENTRY_BYTES, type SmallInflater, ZIP_LIMITS } from "./zip.ts";

export interface Detected {
  ok: true;
  /** The format, as the tables in signatures.ts name it (a converter source name when `accept` took it). */
  format: string;
  /** Pages (PDF) or slides (presentations) counted from the structure; null for formats never counted. */
  pages: number | null;
  /** A password is needed to open it (ODF encryption, encrypted OOXML) or, for a PDF, the trailer has /Encrypt. */
  encrypted: boolean;
  work: Work;
}

export type RefusalReason =
  | "empty"
  | "unsupported"
  | "mismatch"
  | "corrupt"
  | "zip_bomb"
  | "entity_expansion"
  | "password_protected";

export interface Refused {
  ok: false;
  reason: RefusalReason;
  detail: string;
  /** What the bytes are, when known ("png", "zip", "txt"…). */
  detected?: string;
  work: Work;
}

export type Detection = Detected | Refused;

export interface DetectOptions {
  /** The file's name as the user gave it (only its extension is used, and only for text). */
  name?: string;
  /** Formats the caller converts; others are refused. Default: the converter's sources (container/src/formats.ts). */
  accept?: (format: string) => boolean;
  /**
   * The converter's final word: inflate every entry of a zip-based document (or a gzip stream) with a byte
   * counter and a cap, and count what the entity references of a markup document expand to across the whole file.
   */
  inflateAll?: boolean;
  /**
   * A faster inflater for inflateAll's small entries (the converter's node:zlib): a DecompressionStream per
   * entry costs more than a small part's inflating. Same counter, same cap; unset, every entry is streamed.
   */
  inflateSmall?: SmallInflater;
}

export const HEAD_BYTES = TEXT_SAMPLE_BYTES;
// Caps on the package parts the detector inflates; counted parts are streamed through a counter, never held.
const SMALL_PART_BYTES = 1024 * 1024;
const MANIFEST_BYTES = 4 * 1024 * 1024;
export const COUNTED_PART_BYTES = 128 * 1024 * 1024;

const COUNTED = countedFormats();
const KNOWN = new Set([...knownExtensions(), ...sourcesByExtension.keys()]);

/**
 * The extensions that decide a format (the README names them): text named as text, formats with no signature,
 * and weak signatures that count only under their own names.
 */
export function extensionDecided(): string[] {
  const names = new Set<string>([
    ...Object.keys(TEXT_EXTENSIONS),
    ...Object.keys(EXTENSION_ONLY),
    "pages",
    "numbers",
    "key",
  ]);
  for (const s of HEAD_SIGNATURES) for (const ext of s.extensions ?? []) names.add(ext);
  return [...names].sort();
}

export function extensionOf(name: string | undefined): string {
  if (!name) return "";
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || dot === name.length - 1) return "";
  const ext = name.slice(dot + 1).toLowerCase();
  return EXTENSION_ALIASES[ext] ?? ext;
}

export function describe(format: string): string {
  return DESCRIPTIONS[format] ?? format;
}

export async function detect(source: ByteSource, options: DetectOptions = {}): Promise<Detection> {
  const reader = new Reader(source);
  const ext = extensionOf(options.name);
  const accept = options.accept ?? isSource;
  const refuse = (reason: RefusalReason, detail: string, detected?: string): Refused => ({
    ok: false,
    reason,
    detail,
    work: reader.work,
    ...(detected ? { detected } : {}),
  });
  if (source.size === 0) return refuse("empty", "the file is empty");
  try {
    const head = await reader.read(0, HEAD_BYTES);
    const found = await identify(reader, head, ext, options);
    if ("refused" in found) return refuse(found.refused, found.detail, found.detected);
    const refusal = refuseFormat(found.format, ext, accept);
    if (refusal) return refuse(refusal.refused, refusal.detail, refusal.detected);
    if (COUNTED.has(found.format) && found.pages === null) {
      // Pricing and limits rest on this count: a counted format without one is refused, never guessed.
      return found.encrypted
        ? refuse(
            "password_protected",
            `the ${found.format} is encrypted; its pages cannot be counted without the password`,
            found.format,
          )
        : refuse("corrupt", `the ${found.format}'s page count cannot be read from its structure`, found.format);
    }
    return { ok: true, format: found.format, pages: found.pages, encrypted: found.encrypted, work: reader.work };
  } catch (error) {
    if (error instanceof DetectError) return refuse(error.reason, error.message);
    throw error;
  }
}

/**
 * What the first bytes alone decide, for an upload still arriving: a refusal (an image, unknown binary, text
 * under a signature format's name…), or null when the rest of the file must be read. `head` is the first
 * HEAD_BYTES of the file (or all of it, `complete`). Agrees with detect() on every refusal it makes.
 */
export function refuseFromHead(head: Uint8Array, complete: boolean, options: DetectOptions = {}): Refused | null {
  const work = { read: head.length, inflated: 0 };
  if (head.length === 0) return complete ? { ok: false, reason: "empty", detail: "the file is empty", work } : null;
  const ext = extensionOf(options.name);
  const verdict = judgeHead(head.subarray(0, HEAD_BYTES), ext, complete);
  if ("container" in verdict || "cut" in verdict) return null;
  const refusal = "refused" in verdict ? verdict : refuseFormat(verdict.format, ext, options.accept ?? isSource);
  return refusal
    ? {
        ok: false,
        reason: refusal.refused,
        detail: refusal.detail,
        work,
        ...(refusal.detected ? { detected: refusal.detected } : {}),
      }
    : null;
}

type Refusal = { refused: RefusalReason; detail: string; detected?: string };
/** A markup document's general entities, for the converter's count of their references across the whole file. */
type Entities = { expansions: Map<string, number>; skip: number; encoding: TextEncoding };
/** Text judged: its format (with its entities, if it declares any), a refusal, or a DOCTYPE cut by the window. */
type TextVerdict = { format: string; entities?: Entities } | Refusal | { cut: true };
type Identified = { format: string; pages: number | null; encrypted: boolean } | Refusal;

/** A format the caller does not take: a mismatch when the name says another known format, else unsupported. */
function refuseFormat(format: string, ext: string, accept: (format: string) => boolean): Refusal | null {
  if (accept(format)) {
    // The bytes decide among documents (an RTF saved as .doc, a .ppsx LibreOffice wrote as pptx); a picture
    // under a document's name, or a document under a picture's, is a mistake to say, not a conversion to guess.
    const named = sourcesByExtension.get(ext);
    if (!named || !isSource(format) || named.includes(format as never)) return null;
    const picture = sources[format].category === "images";
    if (named.every((n) => (sources[n].category === "images") !== picture)) {
      return {
        refused: "mismatch",
        detail: `the file is named .${ext} but its bytes are ${describe(format)}`,
        detected: format,
      };
    }
    return null;
  }
  return ext && ext !== format && KNOWN.has(ext)
    ? {
        refused: "mismatch",
        detail: `the file is named .${ext} but its bytes are ${describe(format)}, which cannot be converted`,
        detected: format,
      }
    : { refused: "unsupported", detail: `${describe(format)} is not a supported source format`, detected: format };
}

/** The head's verdict: a container to open, a format, or a refusal. */
type Container = "pdf" | "zip" | "ole2" | "gzip";

function judgeHead(
  head: Uint8Array,
  ext: string,
  complete: boolean,
): { container: Container; offset: number } | TextVerdict {
  const signature = matchHead(head, ext);
  if (signature) {
    if (signature.is === "pdf" || signature.is === "zip" || signature.is === "ole2" || signature.is === "gzip")
      return { container: signature.is, offset: signature.offset };
    return { format: signature.is };
  }
  if (looksLikeText(head)) return judgeText(head, ext, complete);
  if (EXTENSION_ONLY[ext]) return { format: EXTENSION_ONLY[ext]! };
  return { refused: "unsupported", detail: `could not recognise the file's format${ext ? ` (named .${ext})` : ""}` };
}

/**
 * Text: markup by its root, a keyword format, or text by its name or its lines. Any text whose prolog declares
 * entities is budgeted first, whatever it is named (LibreOffice's own type detection may still read it as XML).
 */
function judgeText(window: Uint8Array, ext: string, complete: boolean): TextVerdict {
  const { text, encoding } = decodeHead(window, complete);
  const prolog = readProlog(text);
  const marked = markupFormatOf(prolog);
  const entities = judgeEntities(prolog, complete, encoding, marked);
  if (entities && !("expansions" in entities)) return entities;
  const found = (format: string): TextVerdict => ({ format, ...(entities ? { entities } : {}) });
  if (TEXT_EXTENSIONS[ext]) return found(TEXT_EXTENSIONS[ext]!);
  const format = marked ?? keywordFormat(text);
  if (format) return found(format);
  if (ext && KNOWN.has(ext))
    return { refused: "mismatch", detail: `the file is named .${ext} but its bytes are plain text`, detected: "txt" };
  return found(looksLikeCsv(window, complete) ? "csv" : "txt");
}

/** The DOCTYPE's entities within their budget (null: none declared), a refusal, or a DOCTYPE the text cuts. */
function judgeEntities(
  prolog: Prolog,
  complete: boolean,
  encoding: TextEncoding,
  detected: string | null,
): Entities | Refusal | { cut: true } | null {
  const refused = (reason: RefusalReason, detail: string): Refusal => ({
    refused: reason,
    detail,
    ...(detected ? { detected } : {}),
  });
  if (prolog.subsetError) return refused("corrupt", `the DOCTYPE cannot be read: ${prolog.subsetError}`);
  if (prolog.doctypeCut) return complete ? refused("corrupt", "the DOCTYPE never ends") : { cut: true };
  if (!prolog.subset) return null;
  const budget = entityBudget(prolog.subset);
  if (!budget.ok) return refused("entity_expansion", budget.detail);
  return budget.expansions.size > 0 ? { expansions: budget.expansions, skip: prolog.subset.end, encoding } : null;
}

/**
 * The converter's count over the whole (inflated) text: what every reference to a declared entity expands to,
 * together, against ENTITY_LIMITS.maxTotalExpansion. Fed bytes; throws DetectError("entity_expansion") past it.
 */
function referenceBudget(entities: Entities): { write(bytes: Uint8Array): void; end(): void } {
  const decoder = new TextDecoder(entities.encoding);
  const counter = new ReferenceCounter(entities.expansions, entities.skip);
  const check = () => {
    if (counter.total > ENTITY_LIMITS.maxTotalExpansion)
      throw new DetectError(
        "entity_expansion",
        `the document's entity references expand past ${ENTITY_LIMITS.maxTotalExpansion} characters in all`,
      );
  };
  return {
    write(bytes) {
      counter.write(decoder.decode(bytes, { stream: true }));
      check();
    },
    end() {
      counter.write(decoder.decode());
      check();
    },
  };
}

/**
 * The entity budget of a package's part, as the converter inflates it (an SVG picture in a document is parsed
 * like an SVG upload): its first 64 KiB judged like a markup upload, then its references counted to the end.
 */
function markupPartBudget(part: string): EntrySink {
  // Allocated only for a part that starts like markup (a package may hold 20,000 entries).
  let window = new Uint8Array(0);
  let filled = 0;
  let judged = false;
  let references: ReturnType<typeof referenceBudget> | null = null;
  const judge = (complete: boolean) => {
    judged = true;
    const head = window.subarray(0, filled);
    if (!looksLikeText(head)) return;
    const { text, encoding } = decodeHead(head, complete);
    const verdict = judgeEntities(readProlog(text), complete, encoding, null);
    if (!verdict) return;
    if ("cut" in verdict)
      throw new DetectError(
        "entity_expansion",
        `${part}: the DOCTYPE runs past the first ${ENTITY_LIMITS.prologBytes} bytes: its entities cannot be checked`,
      );
    if ("refused" in verdict)
      throw new DetectError(verdict.refused as DetectError["reason"], `${part}: ${verdict.detail}`);
    references = referenceBudget(verdict);
    references.write(head);
  };
  return {
    write(chunk) {
      if (judged) {
        references?.write(chunk);
        return;
      }
      // Markup starts with '<' (after a byte-order mark or spaces): a part that does not is passed at once.
      if (filled === 0) {
        const first = chunk.find((b) => b > 0x20 && b !== 0xef && b !== 0xbb && b !== 0xbf && b !== 0xff && b !== 0xfe);
        if (first !== undefined && first !== 0x3c && first !== 0x00) {
          judged = true;
          return;
        }
        window = new Uint8Array(ENTITY_LIMITS.prologBytes);
      }
      const room = window.length - filled;
      window.set(chunk.subarray(0, room), filled);
      filled += Math.min(room, chunk.length);
      if (filled < window.length) return;
      judge(false);
      if (chunk.length > room) references?.write(chunk.subarray(room));
    },
    end() {
      if (!judged && filled > 0) judge(true);
      references?.end();
    },
  };
}

async function countReferences(reader: Reader, entities: Entities): Promise<void> {
  const budget = referenceBudget(entities);
  const stream = reader.stream(0, reader.size).getReader();
  try {
    for (;;) {
      const { done, value } = await stream.read();
      if (done) break;
      budget.write(value);
    }
  } finally {
    stream.cancel().catch(() => undefined);
  }
  budget.end();
}

async function identify(reader: Reader, head: Uint8Array, ext: string, options: DetectOptions): Promise<Identified> {
  let verdict = judgeHead(head, ext, head.length === reader.size);
  if ("cut" in verdict) {
    // A DOCTYPE longer than the head: its entities are read from a longer window, or the file is refused.
    const window = await reader.read(0, ENTITY_LIMITS.prologBytes);
    verdict = judgeText(window, ext, window.length === reader.size);
    if ("cut" in verdict)
      return {
        refused: "entity_expansion",
        detail: `the DOCTYPE runs past the first ${ENTITY_LIMITS.prologBytes} bytes: its entities cannot be checked`,
      };
  }
  if (!("container" in verdict)) {
    if (!("format" in verdict)) return verdict;
    if (verdict.entities && options.inflateAll) await countReferences(reader, verdict.entities);
    return { format: verdict.format, pages: null, encrypted: false };
  }
  if (verdict.container === "pdf") {
    const { pages, encrypted } = await pdfStructure(reader, verdict.offset);
    return { format: "pdf", pages, encrypted };
  }
  if (verdict.container === "zip") return identifyZip(reader, ext, options);
  if (verdict.container === "gzip") return identifyGzip(reader, options);
  return identifyOle2(reader, ext);
}

function matchHead(head: Uint8Array, ext: string): { is: string; offset: number } | null {
  for (const s of HEAD_SIGNATURES) {
    const bytes = typeof s.bytes === "string" ? ascii(s.bytes) : Uint8Array.from(s.bytes);
    let offset = -1;
    if (s.within) offset = indexOf(head.subarray(0, s.within + bytes.length), bytes);
    else if (startsWith(head, bytes, s.at ?? 0)) offset = s.at ?? 0;
    if (offset < 0) continue;
    if (
      s.andAt &&
      !startsWith(
        head,
        typeof s.andAt.bytes === "string" ? ascii(s.andAt.bytes) : Uint8Array.from(s.andAt.bytes),
        s.andAt.at,
      )
    )
      continue;
    if (s.extensions && !s.extensions.includes(ext)) continue;
    if (s.test && !s.test(head)) continue;
    return { is: s.is, offset };
  }
  return null;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

// ---- zip packages ----------------------------------------------------------------------------------------

async function identifyZip(reader: Reader, ext: string, options: DetectOptions): Promise<Identified> {
  const dir = await readDirectory(reader);
  const bomb = declaredBombReason(dir, reader.size);
  if (bomb) throw new DetectError("zip_bomb", bomb);
  const found = (await identifyOdf(reader, dir)) ??
    (await identifyOoxml(reader, dir)) ??
    (await identifyOtherPackage(reader, dir, ext)) ?? { format: "zip", pages: null, encrypted: false };
  // The converter's final word on the real bytes, before LibreOffice opens the package.
  if (options.inflateAll && "format" in found && found.format !== "zip")
    await inflateAll(reader, dir, (entry) => markupPartBudget(entry.name), options.inflateSmall);
  return found;
}

function entryNamed(dir: ZipDirectory, name: string): ZipEntry | undefined {
  const exact = dir.entries.find((e) => e.name === name);
  if (exact) return exact;
  // OPC part names are case-insensitive (ASCII).
  const lower = name.toLowerCase();
  return dir.entries.find((e) => e.name.toLowerCase() === lower);
}

async function smallText(
  reader: Reader,
  entry: ZipEntry | undefined,
  maxBytes = SMALL_PART_BYTES,
): Promise<string | null> {
  return entry ? readEntryText(reader, entry, maxBytes) : null;
}

async function identifyOdf(reader: Reader, dir: ZipDirectory): Promise<Identified | null> {
  const manifestEntry = entryNamed(dir, "META-INF/manifest.xml");
  let mimetype = ((await smallText(reader, entryNamed(dir, "mimetype"), 256)) ?? "").trim();
  let manifest: string | null = null;
  if (!ODF_MIMETYPES[mimetype] && manifestEntry) {
    // The mimetype entry is optional for some packages: the manifest's root entry names the type then.
    manifest = await smallText(reader, manifestEntry, MANIFEST_BYTES);
    const root = elementAttributes(manifest ?? "", "file-entry").find((a) => a["manifest:full-path"] === "/");
    mimetype = root?.["manifest:media-type"] ?? "";
  }
  const row = ODF_MIMETYPES[mimetype];
  if (!row) return null;
  manifest ??= await smallText(reader, manifestEntry, MANIFEST_BYTES);
  const encrypted = manifest !== null && elementAttributes(manifest, "encryption-data").length > 0;
  let pages: number | null = null;
  if (row.pages && !encrypted) pages = await countPages(reader, dir, "content.xml", row.pages);
  return { format: row.format, pages, encrypted };
}

async function identifyOoxml(reader: Reader, dir: ZipDirectory): Promise<Identified | null> {
  const typesXml = await smallText(reader, entryNamed(dir, "[Content_Types].xml"));
  if (typesXml === null) return null;
  const defaults = new Map<string, string>();
  const overrides = new Map<string, string>();
  for (const a of elementAttributes(typesXml, "Default"))
    if (a.Extension && a.ContentType) defaults.set(a.Extension.toLowerCase(), a.ContentType);
  for (const a of elementAttributes(typesXml, "Override"))
    if (a.PartName && a.ContentType) overrides.set(a.PartName.replace(/^\//, "").toLowerCase(), a.ContentType);
  const typeOf = (part: string) =>
    overrides.get(part.toLowerCase()) ?? defaults.get(part.slice(part.lastIndexOf(".") + 1).toLowerCase());

  // The main part is the target of the package's officeDocument relationship.
  let main: { part: string; type: string } | undefined;
  const rels = await smallText(reader, entryNamed(dir, "_rels/.rels"));
  for (const r of elementAttributes(rels ?? "", "Relationship")) {
    if (!r.Type?.endsWith("/officeDocument") || !r.Target) continue;
    const part = r.Target.replace(/^\//, "");
    const type = typeOf(part);
    if (type && OOXML_MAIN_TYPES[type]) main = { part, type };
    break;
  }
  // Damaged relationships: a part whose content type (or, last, whose name) only a main part has.
  if (!main)
    for (const [part, type] of overrides)
      if (OOXML_MAIN_TYPES[type]) {
        main = { part, type };
        break;
      }
  if (!main)
    for (const [part, type] of Object.entries(OOXML_MAIN_PARTS))
      if (entryNamed(dir, part)) {
        main = { part, type };
        break;
      }
  if (!main) return null;
  const row = OOXML_MAIN_TYPES[main.type]!;
  const pages = row.pages ? await countPages(reader, dir, main.part, row.pages) : null;
  return { format: row.format, pages, encrypted: false };
}

/** Apple iWork ('09: its index's root; 2013+: only the name tells Pages, Numbers and Keynote apart) and CorelDRAW X4+. */
async function identifyOtherPackage(reader: Reader, dir: ZipDirectory, ext: string): Promise<Identified | null> {
  const is = (format: string): Identified => ({ format, pages: null, encrypted: false });
  if (entryNamed(dir, "content/riffData.cdr") || entryNamed(dir, "content/root.dat")) return is("cdr");
  if (entryNamed(dir, "index.apxl") || entryNamed(dir, "index.apxl.gz")) return is("key");
  const index = entryNamed(dir, "index.xml");
  if (index) {
    const head = await entryHead(reader, index, HEAD_BYTES);
    const root = readProlog(head).root?.name ?? "";
    if (root === "sl:document") return is("pages");
    if (root === "ls:document") return is("numbers");
    if (root === "key:presentation") return is("key");
  }
  // 2013+: Index/Document.iwa or Index.zip, Keynote's possibly under a "<name>.key/" folder.
  const iwork = dir.entries.some((e) => {
    const base = e.name.includes(".key/") ? e.name.slice(e.name.indexOf(".key/") + 5) : e.name;
    return base === "Index/Document.iwa" || base === "Index.zip";
  });
  if (!iwork) return null;
  if (ext === "pages" || ext === "numbers" || ext === "key") return is(ext);
  return {
    refused: "unsupported",
    detail: "the file is an Apple iWork document; only its name (.pages, .numbers or .key) says which kind",
    detected: "iwork",
  };
}

/** The first `maxBytes` of an entry, decoded as UTF-8 (a window: the rest is never inflated). */
async function entryHead(reader: Reader, entry: ZipEntry, maxBytes: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let total = 0;
  await readEntry(reader, entry, maxBytes, (chunk) => {
    text += decoder.decode(chunk, { stream: true });
    total += chunk.length;
    return total >= maxBytes ? "stop" : undefined;
  });
  return text;
}

// ---- gzip --------------------------------------------------------------------------------------------------

/** A gzip file: a compressed AbiWord document or SVG, by the root of its first inflated bytes. */
async function identifyGzip(reader: Reader, options: DetectOptions): Promise<Identified> {
  // The first inflated bytes, as far as a DOCTYPE may reach.
  const windowBytes = ENTITY_LIMITS.prologBytes;
  const head = new Uint8Array(windowBytes);
  let filled = 0;
  await inflate(reader.stream(0, reader.size), "gzip", windowBytes, reader.work, (chunk) => {
    head.set(chunk.subarray(0, windowBytes - filled), filled);
    filled = Math.min(windowBytes, filled + chunk.length);
    return filled >= windowBytes ? "stop" : undefined;
  });
  const inner = head.subarray(0, filled);
  let entities: Entities | null = null;
  let found = "gzip";
  if (looksLikeText(inner)) {
    const { text, encoding } = decodeHead(inner, filled < windowBytes);
    const prolog = readProlog(text);
    const format = markupFormatOf(prolog);
    found = format === "abw" ? "zabw" : format === "svg" ? "svgz" : "gzip";
    // Whatever the root (a DOCTYPE too long for the window hides it), a DOCTYPE is budgeted before anything else.
    const judged = judgeEntities(prolog, filled < windowBytes, encoding, found === "gzip" ? null : found);
    if (judged && "cut" in judged)
      return {
        refused: "entity_expansion",
        detail: `the DOCTYPE runs past the first ${windowBytes} inflated bytes: its entities cannot be checked`,
      };
    if (judged && "refused" in judged) return judged;
    entities = judged;
  }
  if (options.inflateAll && found !== "gzip") {
    // The converter's final word, as for zip packages: the whole stream through a counter, with the same cap,
    // and what its entity references expand to.
    const { maxInflatedBytes, ratioFloorBytes, maxRatio } = ZIP_LIMITS;
    const cap = Math.min(maxInflatedBytes, Math.max(ratioFloorBytes, reader.size * maxRatio));
    const references = entities ? referenceBudget(entities) : null;
    const result = await inflate(reader.stream(0, reader.size), "gzip", cap, reader.work, references?.write);
    if (result === "limit") {
      throw new DetectError(
        "zip_bomb",
        `the gzip stream inflates past ${cap} bytes (limit ${maxInflatedBytes}, at most ${maxRatio}× its size)`,
      );
    }
    references?.end();
  }
  return { format: found, pages: null, encrypted: false };
}

/** Streams a part through a counter of slide elements: memory stays a chunk, whatever the part's size. */
async function countPages(reader: Reader, dir: ZipDirectory, part: string, how: PageCount): Promise<number> {
  const entry = entryNamed(dir, part);
  if (!entry) throw new DetectError("corrupt", `the package has no ${part} to count its slides in`);
  const counter =
    how.kind === "ooxml-slides"
      ? new ChildCounter("sldIdLst", "sldId")
      : new ChildCounter(how.kind === "odf-pages" ? how.parent : "", "page");
  // Inflating is what costs (a Worker's CPU): no further than the converter's zip-bomb cap lets the archive go.
  const bombCap = Math.max(ZIP_LIMITS.ratioFloorBytes, reader.size * ZIP_LIMITS.maxRatio);
  const result = await readEntry(reader, entry, Math.min(COUNTED_PART_BYTES, bombCap), (chunk) => {
    counter.write(chunk);
    // An OOXML presentation lists its slides once, near the top: stop reading after the list.
    return how.kind === "ooxml-slides" && counter.finished ? "stop" : undefined;
  });
  if (result === "limit" && bombCap < COUNTED_PART_BYTES) {
    throw new DetectError(
      "zip_bomb",
      `${part} inflates past ${bombCap} bytes (at most ${ZIP_LIMITS.maxRatio}× the archive's size)`,
    );
  }
  if (result === "limit")
    throw new DetectError("corrupt", `${part} inflates past ${COUNTED_PART_BYTES} bytes; its slides cannot be counted`);
  return counter.count;
}

// ---- OLE2 ------------------------------------------------------------------------------------------------

/** SO3_SIMPRESS_CLASSID_50 (565C7221-85BC-11D1-89D0-008029E4B0B1) as stored: the first three fields little-endian. */
const STAR_IMPRESS_5_CLASS_ID = "21725c56bc85d11189d0008029e4b0b1";

async function identifyOle2(reader: Reader, ext: string): Promise<Identified> {
  const root = await rootDirectory(reader);
  const names = new Set(root.names.map((n) => n.toLowerCase()));
  const row = OLE2_ROOT_ENTRIES.find((r) => names.has(r.entry.toLowerCase()));
  if (!row) return { format: "ole2", pages: null, encrypted: false };
  // StarDraw and StarImpress 5 share their stream; the root's class id tells them apart (StarImpress 5.0's).
  if (row.format === "sda" && root.classId === STAR_IMPRESS_5_CLASS_ID)
    return { format: "sdd", pages: null, encrypted: false };
  if (row.format !== "ooxml-encrypted") return { format: row.format, pages: null, encrypted: false };
  // The package inside cannot be seen without the password, so its kind comes from the name, if any.
  const inner = Object.values(OOXML_MAIN_TYPES).find((r) => r.format === ext);
  if (!inner)
    return {
      refused: "password_protected",
      detail: "the document is an encrypted Office Open XML package; which kind cannot be told without the password",
      detected: "ooxml-encrypted",
    };
  return { format: inner.format, pages: null, encrypted: true };
}
