// A PDF's page count from its page tree, the way a viewer finds it: startxref → the cross-reference sections
// (tables and streams, hybrids, incremental updates through /Prev) → the trailer's /Root → the catalog's
// /Pages → its /Count. Objects inside object streams are read from the inflated stream (bounded). Every read
// is a bounded window at an offset the file's own structure gives; nothing scans the file for patterns.

import { ascii, DetectError, inflate, lastIndexOf, type Reader } from "./source.ts";

const TAIL_BYTES = 16 * 1024;
const MAX_SECTIONS = 256;
// Subsections of all the cross-reference tables together: each is kept and scanned on every lookup.
const MAX_SUBSECTIONS = 100_000;
// Bytes inflated for the whole structure (cross-reference stream rows, once per lookup, and object streams):
// far above what real files need, far below what costs a CPU-limited Worker seconds.
const MAX_INFLATED_BYTES = 32 * 1024 * 1024;
const MAX_OBJECT_BYTES = 1024 * 1024;
const MAX_OBJECT_STREAM_BYTES = 8 * 1024 * 1024;
const MAX_RESOLVE_DEPTH = 8;
const MAX_ARRAY_KEPT = 4096;
const MAX_NESTING = 64;
export const MAX_PDF_PAGES = 10_000_000;

export interface PdfStructure {
  pages: number;
  /** The trailer names an /Encrypt dictionary (it may still open without a password). */
  encrypted: boolean;
}

// ---- values ----------------------------------------------------------------------------------------------

interface Ref {
  ref: true;
  num: number;
  gen: number;
}
interface Name {
  name: string;
}
type Value = null | boolean | number | Ref | Name | { string: true } | Value[] | Dict | { keyword: string };
type Dict = Map<string, Value>;

const isRef = (v: Value | undefined): v is Ref => typeof v === "object" && v !== null && "ref" in v;
const isDict = (v: Value | undefined): v is Dict => v instanceof Map;
const nameOf = (v: Value | undefined): string | undefined =>
  typeof v === "object" && v !== null && "name" in v ? v.name : undefined;
const intOf = (v: Value | undefined): number | undefined =>
  typeof v === "number" && Number.isInteger(v) ? v : undefined;

class NeedMore extends Error {}

function corrupt(detail: string): DetectError {
  return new DetectError("corrupt", `the PDF's page count cannot be read from its structure: ${detail}`);
}

function tooMuchToInflate(): DetectError {
  return corrupt(`its cross-reference and object streams inflate past ${MAX_INFLATED_BYTES} bytes`);
}

// ---- lexer and parser over one window of bytes -----------------------------------------------------------

const isWhite = (c: number) => c === 0 || c === 9 || c === 10 || c === 12 || c === 13 || c === 32;
const isDelimiter = (c: number) =>
  c === 0x28 ||
  c === 0x29 ||
  c === 0x3c ||
  c === 0x3e ||
  c === 0x5b ||
  c === 0x5d ||
  c === 0x7b ||
  c === 0x7d ||
  c === 0x2f ||
  c === 0x25;
const isRegular = (c: number) => !isWhite(c) && !isDelimiter(c);

type Token =
  | { kind: "num"; value: number; int: boolean }
  | { kind: "name"; value: string }
  | { kind: "kw"; value: string }
  | { kind: "delim"; value: string }
  | { kind: "string" }
  | { kind: "eof" };

class Parser {
  pos: number;
  private readonly buf: Uint8Array;
  /** The window ends at the end of the file: running out is the end, not a reason to read more. */
  private readonly atEof: boolean;

  constructor(buf: Uint8Array, pos: number, atEof: boolean) {
    this.buf = buf;
    this.pos = pos;
    this.atEof = atEof;
  }

  private byte(i: number): number {
    if (i >= this.buf.length) {
      if (this.atEof) return -1;
      throw new NeedMore();
    }
    return this.buf[i]!;
  }

  skipWhite(): void {
    for (;;) {
      const c = this.byte(this.pos);
      if (c === -1) return;
      if (isWhite(c)) this.pos++;
      else if (c === 0x25) {
        // a comment runs to the end of the line
        while (this.byte(this.pos) !== -1 && this.byte(this.pos) !== 10 && this.byte(this.pos) !== 13) this.pos++;
      } else return;
    }
  }

  token(): Token {
    this.skipWhite();
    const c = this.byte(this.pos);
    if (c === -1) return { kind: "eof" };
    if (c === 0x2f) {
      let end = this.pos + 1;
      while (this.byte(end) !== -1 && isRegular(this.byte(end))) end++;
      const value = latin1(this.buf, this.pos + 1, end);
      this.pos = end;
      return { kind: "name", value };
    }
    if (c === 0x28) return this.literalString();
    if (c === 0x3c) {
      if (this.byte(this.pos + 1) === 0x3c) {
        this.pos += 2;
        return { kind: "delim", value: "<<" };
      }
      // hex string
      let end = this.pos + 1;
      while (this.byte(end) !== 0x3e) {
        if (this.byte(end) === -1) throw corrupt("an unterminated hex string");
        end++;
      }
      this.pos = end + 1;
      return { kind: "string" };
    }
    if (c === 0x3e) {
      if (this.byte(this.pos + 1) === 0x3e) {
        this.pos += 2;
        return { kind: "delim", value: ">>" };
      }
      throw corrupt("a stray '>'");
    }
    if (c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d || c === 0x29) {
      this.pos++;
      return { kind: "delim", value: String.fromCharCode(c) };
    }
    let end = this.pos;
    while (this.byte(end) !== -1 && isRegular(this.byte(end))) end++;
    const text = latin1(this.buf, this.pos, end);
    this.pos = end;
    const number = parseNumber(text);
    if (number) return { kind: "num", value: number.value, int: number.int };
    return { kind: "kw", value: text };
  }

  private literalString(): Token {
    let depth = 0;
    let i = this.pos;
    for (;;) {
      const c = this.byte(i);
      if (c === -1) throw corrupt("an unterminated string");
      if (c === 0x5c) i += 2;
      else {
        if (c === 0x28) depth++;
        else if (c === 0x29 && --depth === 0) break;
        i++;
      }
    }
    this.pos = i + 1;
    return { kind: "string" };
  }

  /** One value; `first` is a token already read. Integers followed by `gen R` become references. */
  value(first: Token = this.token(), depth = 0): Value {
    if (depth > MAX_NESTING) throw corrupt("objects nested too deeply");
    switch (first.kind) {
      case "num": {
        if (!first.int || first.value < 0) return first.value;
        const save = this.pos;
        const second = this.token();
        if (second.kind === "num" && second.int && second.value >= 0) {
          const third = this.token();
          if (third.kind === "kw" && third.value === "R") return { ref: true, num: first.value, gen: second.value };
        }
        this.pos = save;
        return first.value;
      }
      case "name":
        return { name: first.value };
      case "string":
        return { string: true };
      case "kw":
        if (first.value === "true") return true;
        if (first.value === "false") return false;
        if (first.value === "null") return null;
        return { keyword: first.value };
      case "delim":
        if (first.value === "[") {
          const items: Value[] = [];
          for (;;) {
            const t = this.token();
            if (t.kind === "delim" && t.value === "]") return items;
            if (t.kind === "eof") throw corrupt("an unterminated array");
            const v = this.value(t, depth + 1);
            if (items.length < MAX_ARRAY_KEPT) items.push(v);
          }
        }
        if (first.value === "<<") {
          const dict: Dict = new Map();
          for (;;) {
            const t = this.token();
            if (t.kind === "delim" && t.value === ">>") return dict;
            if (t.kind !== "name") throw corrupt("a dictionary key that is not a name");
            dict.set(t.value, this.value(this.token(), depth + 1));
          }
        }
        throw corrupt(`an unexpected '${first.value}'`);
      case "eof":
        throw corrupt("the file ends inside an object");
    }
  }

  /** `num gen obj`; returns the object number. */
  objectHeader(): { num: number; gen: number } {
    const num = this.token();
    const gen = this.token();
    const obj = this.token();
    if (num.kind !== "num" || !num.int || gen.kind !== "num" || !gen.int || obj.kind !== "kw" || obj.value !== "obj")
      throw corrupt("an object is not where the cross-reference table says");
    return { num: num.value, gen: gen.value };
  }

  /** After a stream dictionary: the offset (in this window) where the stream's data begins, or -1. */
  streamStart(): number {
    const save = this.pos;
    const t = this.token();
    if (t.kind !== "kw" || t.value !== "stream") {
      this.pos = save;
      return -1;
    }
    // "stream" is followed by CRLF or LF (a lone CR is tolerated).
    let p = this.pos;
    if (this.byte(p) === 13) p++;
    if (this.byte(p) === 10) p++;
    return p;
  }
}

function parseNumber(text: string): { value: number; int: boolean } | undefined {
  // Digits with an optional sign and one decimal point; anything else is a keyword.
  let i = 0;
  if (text[0] === "+" || text[0] === "-") i++;
  let digits = 0;
  let dots = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && dots === 0) dots++;
    else return undefined;
  }
  if (digits === 0 || text.length > 32) return undefined;
  return { value: Number(text), int: dots === 0 };
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

// ---- cross-reference sections ----------------------------------------------------------------------------

type XrefEntry =
  | { type: "free" }
  | { type: "offset"; offset: number; gen: number }
  | { type: "compressed"; stream: number; index: number };

interface TableSection {
  kind: "table";
  subsections: { first: number; count: number; entries: number }[];
  trailer: Dict;
  /** A hybrid file's cross-reference stream, consulted after the table. */
  stream?: StreamSection;
}

interface StreamSection {
  kind: "stream";
  dict: Dict;
  widths: [number, number, number];
  index: [number, number][];
  dataOffset: number;
  dataLength: number;
  filtered: boolean;
  predictor: { columns: number } | null;
}

type Section = TableSection | StreamSection;

/** Reads the page count of the PDF in `reader` (its first bytes are "%PDF-" within the first KiB). */
export async function pdfStructure(reader: Reader, headerOffset: number): Promise<PdfStructure> {
  return new PdfFile(reader, headerOffset).pageCount();
}

class PdfFile {
  private readonly reader: Reader;
  private readonly headerOffset: number;
  private base = 0;
  private sections: Section[] = [];
  private subsections = 0;
  private encrypted = false;

  constructor(reader: Reader, headerOffset: number) {
    this.reader = reader;
    this.headerOffset = headerOffset;
  }

  async pageCount(): Promise<PdfStructure> {
    const start = await this.startXref();
    await this.loadSections(start);
    const trailer = this.trailerWith("Root");
    if (!trailer) throw corrupt("no trailer names the document catalog (/Root)");
    this.encrypted = this.trailerWith("Encrypt") !== undefined;
    const root = await this.resolve(trailer.get("Root"));
    if (!isDict(root)) throw corrupt("the document catalog is not a dictionary");
    const pages = await this.resolve(root.get("Pages"));
    if (!isDict(pages)) throw corrupt("the catalog has no page tree (/Pages)");
    const type = nameOf(pages.get("Type"));
    if (type !== undefined && type !== "Pages") throw corrupt(`the page tree's root has /Type /${type}`);
    const count = intOf(await this.resolve(pages.get("Count")));
    if (count === undefined || count < 0 || count > MAX_PDF_PAGES)
      throw corrupt("the page tree's /Count is not a page count");
    return { pages: count, encrypted: this.encrypted };
  }

  private trailerWith(key: string): Dict | undefined {
    for (const s of this.sections) {
      const dict = s.kind === "table" ? s.trailer : s.dict;
      if (dict.has(key)) return dict;
    }
    return undefined;
  }

  private async startXref(): Promise<number> {
    const size = this.reader.size;
    const tailStart = Math.max(0, size - TAIL_BYTES);
    const tail = await this.reader.read(tailStart, size - tailStart);
    const at = lastIndexOf(tail, ascii("startxref"));
    if (at < 0) throw corrupt("no startxref at the end of the file");
    const p = new Parser(tail, at + 9, true);
    const t = p.token();
    if (t.kind !== "num" || !t.int || t.value < 0) throw corrupt("startxref is not followed by an offset");
    // Offsets count from the "%PDF-" header, which some files do not start with.
    for (const base of this.headerOffset > 0 ? [0, this.headerOffset] : [0]) {
      const head = await this.reader.read(base + t.value, 64);
      if (latin1(head, 0, 4) === "xref" || looksLikeObjectHeader(head)) {
        this.base = base;
        return base + t.value;
      }
    }
    throw corrupt("startxref does not point at a cross-reference section");
  }

  private async loadSections(start: number): Promise<void> {
    const seen = new Set<number>();
    let offset: number | undefined = start;
    while (offset !== undefined) {
      if (seen.has(offset)) break; // a /Prev loop: the sections read so far are the document
      if (this.sections.length >= MAX_SECTIONS) throw corrupt(`more than ${MAX_SECTIONS} cross-reference sections`);
      seen.add(offset);
      const section = await this.section(offset);
      this.sections.push(section);
      const dict = section.kind === "table" ? section.trailer : section.dict;
      const prev = intOf(dict.get("Prev"));
      offset = prev !== undefined && prev >= 0 ? this.base + prev : undefined;
    }
  }

  private async section(offset: number): Promise<Section> {
    const head = await this.reader.read(offset, 4);
    if (latin1(head, 0, 4) === "xref") return this.table(offset + 4);
    return this.streamSection(offset);
  }

  private async table(offset: number): Promise<TableSection> {
    const subsections: TableSection["subsections"] = [];
    let pos = offset;
    for (;;) {
      if (++this.subsections > MAX_SUBSECTIONS) throw corrupt("too many cross-reference subsections");
      const { parser, windowStart } = await this.parserAt(pos, 1024);
      let t: Token, count: Token;
      try {
        t = parser.token();
        count = t.kind === "num" ? parser.token() : t;
        if (t.kind === "num") parser.skipWhite();
      } catch (error) {
        if (error instanceof NeedMore) throw corrupt("a damaged cross-reference table");
        throw error;
      }
      if (t.kind === "kw" && t.value === "trailer") {
        const { value } = await this.valueAt(windowStart + parser.pos);
        if (!isDict(value)) throw corrupt("the trailer is not a dictionary");
        const section: TableSection = { kind: "table", subsections, trailer: value };
        const hybrid = intOf(value.get("XRefStm"));
        if (hybrid !== undefined) {
          const stream = await this.streamSection(this.base + hybrid).catch(() => undefined);
          if (stream) section.stream = stream;
        }
        return section;
      }
      if (t.kind !== "num" || !t.int || count.kind !== "num" || !count.int || t.value < 0 || count.value < 0)
        throw corrupt("a damaged cross-reference table");
      const entries = windowStart + parser.pos;
      subsections.push({ first: t.value, count: count.value, entries });
      pos = entries + count.value * 20;
      if (pos > this.reader.size) throw corrupt("a cross-reference table runs past the end of the file");
    }
  }

  private async streamSection(offset: number): Promise<StreamSection> {
    const { value, dataOffset } = await this.objectAt(offset);
    if (!isDict(value) || nameOf(value.get("Type")) !== "XRef" || dataOffset < 0)
      throw corrupt("startxref points at something that is not a cross-reference section");
    const w = value.get("W");
    const widths = Array.isArray(w) ? w.map(intOf) : [];
    if (widths.length !== 3 || widths.some((x) => x === undefined || x < 0 || x > 8))
      throw corrupt("a cross-reference stream with bad /W");
    const size = intOf(value.get("Size")) ?? 0;
    const rawIndex = value.get("Index");
    const flat = Array.isArray(rawIndex) ? rawIndex.map(intOf) : [0, size];
    const index: [number, number][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const a = flat[i],
        b = flat[i + 1];
      if (a === undefined || b === undefined || a < 0 || b < 0)
        throw corrupt("a cross-reference stream with bad /Index");
      index.push([a, b]);
    }
    const length = intOf(value.get("Length"));
    if (length === undefined || length < 0) throw corrupt("a cross-reference stream without a direct /Length");
    const filter = value.get("Filter");
    const filterName = nameOf(Array.isArray(filter) ? filter[0] : filter);
    if (filter !== undefined && (filterName !== "FlateDecode" || (Array.isArray(filter) && filter.length > 1)))
      throw corrupt(`a cross-reference stream compressed with /${filterName ?? "?"}`);
    const parms = value.get("DecodeParms");
    const decode = isDict(parms) ? parms : Array.isArray(parms) && isDict(parms[0]) ? parms[0] : undefined;
    const predictor = intOf(decode?.get("Predictor")) ?? 1;
    const columns = intOf(decode?.get("Columns")) ?? 1;
    if (predictor !== 1 && (predictor < 10 || predictor > 15))
      throw corrupt(`a cross-reference stream with predictor ${predictor}`);
    const sum = widths[0]! + widths[1]! + widths[2]!;
    if (predictor >= 10 && columns !== sum)
      throw corrupt("a cross-reference stream whose predictor columns do not match /W");
    return {
      kind: "stream",
      dict: value,
      widths: widths as [number, number, number],
      index,
      dataOffset,
      dataLength: length,
      filtered: filter !== undefined,
      predictor: predictor >= 10 ? { columns } : null,
    };
  }

  // ---- objects -------------------------------------------------------------------------------------------

  private async parserAt(offset: number, window: number): Promise<{ parser: Parser; windowStart: number }> {
    const bytes = await this.reader.read(offset, window);
    return { parser: new Parser(bytes, 0, offset + bytes.length >= this.reader.size), windowStart: offset };
  }

  /** A value parsed at `offset`, widening the window until it fits (at most 1 MiB). */
  private async valueAt(offset: number): Promise<{ value: Value; end: number }> {
    for (let window = 4096; ; window *= 4) {
      const bytes = await this.reader.read(offset, Math.min(window, MAX_OBJECT_BYTES));
      const parser = new Parser(bytes, 0, offset + bytes.length >= this.reader.size);
      try {
        const value = parser.value();
        return { value, end: offset + parser.pos };
      } catch (error) {
        if (!(error instanceof NeedMore)) throw error;
        if (window >= MAX_OBJECT_BYTES) throw corrupt("an object larger than 1 MiB on the page tree's path");
      }
    }
  }

  /** `n g obj <value>` at `offset`; for a stream, where its data starts (else -1). */
  private async objectAt(offset: number, expected?: number): Promise<{ value: Value; dataOffset: number }> {
    for (let window = 4096; ; window *= 4) {
      const bytes = await this.reader.read(offset, Math.min(window, MAX_OBJECT_BYTES));
      const parser = new Parser(bytes, 0, offset + bytes.length >= this.reader.size);
      try {
        const { num } = parser.objectHeader();
        if (expected !== undefined && num !== expected)
          throw corrupt(`object ${expected} is not where the cross-reference table says`);
        const value = parser.value();
        const start = isDict(value) ? parser.streamStart() : -1;
        return { value, dataOffset: start < 0 ? -1 : offset + start };
      } catch (error) {
        if (!(error instanceof NeedMore)) throw error;
        if (window >= MAX_OBJECT_BYTES) throw corrupt("an object larger than 1 MiB on the page tree's path");
      }
    }
  }

  /** Follows references to a direct value (depth-limited: a reference loop is an error, not a hang). */
  private async resolve(value: Value | undefined, depth = 0): Promise<Value | undefined> {
    if (!isRef(value)) return value;
    if (depth >= MAX_RESOLVE_DEPTH) throw corrupt("references nested too deeply");
    const entry = await this.lookup(value.num);
    if (!entry || entry.type === "free") return null; // an undefined object is null (PDF 7.3.10)
    if (entry.type === "offset") {
      const { value: v } = await this.objectAt(this.base + entry.offset, value.num);
      return this.resolve(v, depth + 1);
    }
    if (this.encrypted)
      throw new DetectError(
        "password_protected",
        "the PDF is encrypted and its page tree is inside encrypted object streams",
      );
    return this.resolve(await this.compressedObject(entry.stream, value.num, depth), depth + 1);
  }

  private async lookup(num: number): Promise<XrefEntry | undefined> {
    for (const section of this.sections) {
      const entry =
        section.kind === "table"
          ? ((await this.tableEntry(section, num)) ??
            (section.stream ? await this.streamEntry(section.stream, num) : undefined))
          : await this.streamEntry(section, num);
      if (entry) return entry;
    }
    return undefined;
  }

  private async tableEntry(section: TableSection, num: number): Promise<XrefEntry | undefined> {
    for (const sub of section.subsections) {
      if (num < sub.first || num >= sub.first + sub.count) continue;
      const bytes = await this.reader.read(sub.entries + (num - sub.first) * 20, 20);
      const text = latin1(bytes, 0, bytes.length);
      const offset = Number(text.slice(0, 10));
      const gen = Number(text.slice(11, 16));
      const kind = text[17];
      if (kind === "f") return { type: "free" };
      if (kind !== "n" || !Number.isInteger(offset) || !Number.isInteger(gen))
        throw corrupt("a damaged cross-reference entry");
      return { type: "offset", offset, gen };
    }
    return undefined;
  }

  private async streamEntry(section: StreamSection, num: number): Promise<XrefEntry | undefined> {
    let row = 0;
    let found = -1;
    for (const [first, count] of section.index) {
      if (num >= first && num < first + count) {
        found = row + (num - first);
        break;
      }
      row += count;
    }
    if (found < 0) return undefined;
    const [w1, w2, w3] = section.widths;
    const rowBytes = w1 + w2 + w3;
    const data = await this.streamRow(section, found, rowBytes);
    const field = (start: number, width: number) => {
      let v = 0;
      for (let i = 0; i < width; i++) v = v * 256 + data[start + i]!;
      return v;
    };
    const type = w1 === 0 ? 1 : field(0, w1);
    const second = field(w1, w2);
    const third = field(w1 + w2, w3);
    if (type === 0) return { type: "free" };
    if (type === 1) return { type: "offset", offset: second, gen: third };
    if (type === 2) return { type: "compressed", stream: second, index: third };
    return undefined; // unknown types are null objects
  }

  /** Row `row` of a cross-reference stream, inflating (and un-predicting) only up to it. */
  private async streamRow(section: StreamSection, row: number, rowBytes: number): Promise<Uint8Array> {
    const stride = rowBytes + (section.predictor ? 1 : 0);
    const needed = (row + 1) * stride;
    if (!section.filtered) {
      if (needed > section.dataLength) throw corrupt("a cross-reference stream shorter than its /Index");
      return this.reader.read(section.dataOffset + row * stride + (section.predictor ? 1 : 0), rowBytes);
    }
    if (needed > this.inflateRoom()) throw tooMuchToInflate();
    // Without a predictor the rows before this one are skipped; with one, each row is added to the one above
    // it, so every row is decoded, in place (no allocation per row).
    const target = row * stride;
    const current = new Uint8Array(stride);
    let previous = new Uint8Array(rowBytes);
    let decoded = new Uint8Array(rowBytes);
    let seen = 0;
    let filled = 0;
    let result: Uint8Array | undefined;
    const outcome = await inflate(
      this.zlibBody(section.dataOffset, section.dataLength),
      "deflate-raw",
      needed,
      this.reader.work,
      (chunk) => {
        if (!section.predictor) {
          const from = Math.max(0, target - seen);
          const to = Math.min(chunk.length, needed - seen);
          seen += chunk.length;
          if (from < to) {
            current.set(chunk.subarray(from, to), filled);
            filled += to - from;
          }
          if (filled < stride) return undefined;
          result = current;
          return "stop";
        }
        for (let i = 0; i < chunk.length; i++) {
          current[filled++] = chunk[i]!;
          if (filled < stride) continue;
          unpredict(current, previous, decoded);
          if (seen === row) {
            result = decoded;
            return "stop";
          }
          [previous, decoded] = [decoded, previous];
          filled = 0;
          seen++;
        }
        return undefined;
      },
    );
    if (!result && outcome === "limit") throw corrupt("a cross-reference stream inflates past its rows");
    if (!result) throw corrupt("a cross-reference stream shorter than its /Index");
    return result;
  }

  /** What may still be inflated for this file (MAX_INFLATED_BYTES in all). */
  private inflateRoom(): number {
    return MAX_INFLATED_BYTES - this.reader.work.inflated;
  }

  /** A FlateDecode stream's body as raw deflate: zlib's 2-byte header skipped, its checksum and any trailing bytes ignored. */
  private zlibBody(offset: number, length: number): ReadableStream<Uint8Array> {
    return this.reader.stream(offset + 2, Math.max(0, length - 2));
  }

  /**
   * Object `num` from the object stream `streamNumber`. Only the stream's header (its n pairs, up to /First) and a
   * window of at most 1 MiB where the object starts are kept, and inflating stops there: a stream costs ~2 MiB of
   * memory, not its whole inflated size (8 MiB each, with two cached and one being assembled: ~40 MB for a 50 KB
   * file whose /Length chain runs through several streams).
   */
  private async compressedObject(streamNumber: number, num: number, depth: number): Promise<Value> {
    const entry = await this.lookup(streamNumber);
    if (entry?.type !== "offset") throw corrupt("an object stream is missing");
    const { value: dict, dataOffset } = await this.objectAt(this.base + entry.offset, streamNumber);
    if (!isDict(dict) || dataOffset < 0 || nameOf(dict.get("Type")) !== "ObjStm")
      throw corrupt("an object stream is not one");
    const n = intOf(dict.get("N"));
    const first = intOf(dict.get("First"));
    const length = intOf(await this.resolve(dict.get("Length"), depth + 1));
    if (n === undefined || first === undefined || length === undefined || n < 0 || first < 0 || length < 0)
      throw corrupt("an object stream with bad /N, /First or /Length");
    if (first > MAX_OBJECT_BYTES) throw corrupt("an object stream whose header is larger than 1 MiB");
    const filter = dict.get("Filter");
    if (filter !== undefined && nameOf(Array.isArray(filter) ? filter[0] : filter) !== "FlateDecode")
      throw corrupt("an object stream with an unsupported filter");
    if (isDict(dict.get("DecodeParms"))) throw corrupt("an object stream with a predictor");

    // Where the object starts in the stream, from the header: n pairs of (object number, offset from /First).
    const objectStart = (header: Uint8Array): number => {
      const parser = new Parser(header, 0, true);
      for (let i = 0; i < n; i++) {
        const a = parser.token();
        const b = parser.token();
        if (a.kind !== "num" || b.kind !== "num" || !a.int || !b.int)
          throw corrupt("an object stream with a damaged header");
        if (a.value === num) return first + b.value;
      }
      throw corrupt(`object ${num} is not in the object stream the cross-reference names`);
    };

    if (filter === undefined) {
      if (length > MAX_OBJECT_STREAM_BYTES) throw corrupt("an object stream larger than 8 MiB");
      const start = objectStart(await this.readLong(dataOffset, Math.min(first, length)));
      if (start >= length) throw corrupt(`object ${num} lies past the end of its object stream`);
      const window = await this.readLong(dataOffset + start, Math.min(MAX_OBJECT_BYTES, length - start));
      return parseObject(window, start + window.length >= length);
    }

    const header = new Uint8Array(first);
    let start = first === 0 ? objectStart(header) : -1;
    const window = new Uint8Array(MAX_OBJECT_BYTES);
    let filled = 0;
    let position = 0; // offset in the inflated stream of the chunk's first byte
    const room = this.inflateRoom();
    const outcome = await inflate(
      this.zlibBody(dataOffset, length),
      "deflate-raw",
      Math.min(MAX_OBJECT_STREAM_BYTES, room),
      this.reader.work,
      (chunk) => {
        const end = position + chunk.length;
        if (position < first) {
          header.set(chunk.subarray(0, Math.min(chunk.length, first - position)), position);
          if (end >= first) start = objectStart(header);
        }
        if (start >= 0 && end > start + filled) {
          const from = Math.max(position, start + filled) - position;
          const take = Math.min(chunk.length - from, window.length - filled);
          window.set(chunk.subarray(from, from + take), filled);
          filled += take;
        }
        position = end;
        return filled === window.length ? "stop" : undefined;
      },
    );
    if (start < 0) throw corrupt("an object stream shorter than its header");
    if (outcome === "limit")
      throw room < MAX_OBJECT_STREAM_BYTES ? tooMuchToInflate() : corrupt("an object stream inflates past 8 MiB");
    if (filled === 0) throw corrupt(`object ${num} lies past the end of its object stream`);
    return parseObject(window.subarray(0, filled), outcome !== "stopped");
  }

  private async readLong(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; ) {
      const chunk = await this.reader.read(offset + at, Math.min(512 * 1024, length - at));
      if (chunk.length === 0) throw corrupt("a stream runs past the end of the file");
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

/** One object at the start of `bytes` (a window of at most 1 MiB; `atEnd` when it runs to the stream's end). */
function parseObject(bytes: Uint8Array, atEnd: boolean): Value {
  try {
    return new Parser(bytes, 0, atEnd).value();
  } catch (error) {
    if (error instanceof NeedMore) throw corrupt("an object larger than 1 MiB on the page tree's path");
    throw error;
  }
}

function looksLikeObjectHeader(bytes: Uint8Array): boolean {
  try {
    new Parser(bytes, 0, true).objectHeader();
    return true;
  } catch {
    return false;
  }
}

/** PNG row filters (predictors 10–15) for one row of a cross-reference stream (1 byte per pixel), into `out`. */
function unpredict(row: Uint8Array, previous: Uint8Array, out: Uint8Array): void {
  const filter = row[0]!;
  if (filter > 4) throw corrupt(`a cross-reference stream row with PNG filter ${filter}`);
  for (let i = 0; i < out.length; i++) {
    const raw = row[i + 1]!;
    const left = i > 0 ? out[i - 1]! : 0;
    const up = previous[i]!;
    const upLeft = i > 0 ? previous[i - 1]! : 0;
    let v: number;
    switch (filter) {
      case 0:
        v = raw;
        break;
      case 1:
        v = raw + left;
        break;
      case 2:
        v = raw + up;
        break;
      case 3:
        v = raw + ((left + up) >> 1);
        break;
      default: {
        const p = left + up - upLeft;
        const pa = Math.abs(p - left),
          pb = Math.abs(p - up),
          pc = Math.abs(p - upLeft);
        v = raw + (pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft);
        break;
      }
    }
    out[i] = v & 0xff;
  }
}
