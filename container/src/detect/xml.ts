// Counting elements in XML that arrives in chunks, in one pass with constant memory: a byte-level state
// machine (tags, quoted attribute values, comments, CDATA, processing instructions), no regular expressions.

const LT = 0x3c,
  GT = 0x3e,
  SLASH = 0x2f,
  BANG = 0x21,
  QUESTION = 0x3f,
  DQUOTE = 0x22,
  SQUOTE = 0x27;
const DASH = 0x2d,
  RBRACKET = 0x5d,
  COLON = 0x3a;
const MAX_NAME = 128;

// States of the scanner: between tags, just after '<', in a tag's name, in a tag after its name, in a quoted
// attribute value, in '<!…>' or '<?…?>' markup (comment, CDATA, doctype, processing instruction).
const State = { Text: 0, Open: 1, Name: 2, Tag: 3, Quoted: 4, Markup: 5 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Counts elements with local name `child` that are direct children of an element with local name `parent`
 * (namespace prefixes ignored): `sldId` in `sldIdLst`, `page` in `presentation`.
 */
export class ChildCounter {
  count = 0;
  private readonly parent: Uint8Array;
  private readonly child: Uint8Array;
  private state: State = State.Text;
  // The tag's name as bytes (no string per tag: a part can be millions of tags), and where its local name starts.
  private readonly name = new Uint8Array(MAX_NAME);
  private nameLength = 0;
  private localStart = 0;
  private nameTooLong = false;
  private isEnd = false;
  private lastWasSlash = false;
  private quote = 0;
  // Markup: what closes it, and how much of the closer has been matched.
  private closer: number[] = [];
  private matched = 0;
  private markupPrefix = "";
  /** Depth inside the parent element; 0 when outside it. */
  private depth = 0;
  /** The parent element has been closed at least once. */
  finished = false;

  constructor(parent: string, child: string) {
    this.parent = new TextEncoder().encode(parent);
    this.child = new TextEncoder().encode(child);
  }

  write(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      switch (this.state) {
        case State.Text: {
          // Text runs are skipped by the native search, not byte by byte.
          const lt = c === LT ? i : chunk.indexOf(LT, i);
          if (lt < 0) return;
          i = lt;
          this.state = State.Open;
          break;
        }
        case State.Open:
          if (c === BANG || c === QUESTION) {
            this.state = State.Markup;
            this.markupPrefix = c === QUESTION ? "?" : "!";
            this.closer = c === QUESTION ? [QUESTION, GT] : [];
            this.matched = 0;
          } else {
            this.isEnd = c === SLASH;
            this.nameLength = 0;
            this.localStart = 0;
            if (!this.isEnd) {
              this.name[this.nameLength++] = c;
              if (c === COLON) this.localStart = 1;
            }
            this.nameTooLong = false;
            this.state = State.Name;
          }
          break;
        case State.Name:
          if (c === GT || c === SLASH || c <= 0x20) {
            this.state = State.Tag;
            this.lastWasSlash = false;
            i--; // let Tag see the character
          } else if (this.nameLength < MAX_NAME) {
            this.name[this.nameLength++] = c;
            if (c === COLON) this.localStart = this.nameLength;
          } else this.nameTooLong = true;
          break;
        case State.Tag:
          if (c === DQUOTE || c === SQUOTE) {
            this.quote = c;
            this.state = State.Quoted;
          } else if (c === GT) {
            this.endTag(this.lastWasSlash);
            this.state = State.Text;
          } else if (c === SLASH) this.lastWasSlash = true;
          else if (c > 0x20) this.lastWasSlash = false;
          break;
        case State.Quoted: {
          const close = c === this.quote ? i : chunk.indexOf(this.quote, i);
          if (close < 0) return;
          i = close;
          this.state = State.Tag;
          this.lastWasSlash = false;
          break;
        }
        case State.Markup:
          this.markup(c);
          break;
      }
    }
  }

  private markup(c: number): void {
    if (this.closer.length === 0) {
      // Still telling "<!--", "<![CDATA[" and "<!DOCTYPE" apart.
      this.markupPrefix += String.fromCharCode(c);
      if (this.markupPrefix === "!--") this.closer = [DASH, DASH, GT];
      else if (this.markupPrefix === "![CDATA[") this.closer = [RBRACKET, RBRACKET, GT];
      else if (!"!--".startsWith(this.markupPrefix) && !"![CDATA[".startsWith(this.markupPrefix)) this.closer = [GT];
      if (this.closer.length === 1 && c === GT) this.state = State.Text;
      return;
    }
    // Match the closer; on a mismatch restart, letting this byte begin a new match (closers have no inner repeats
    // that matter: "--" followed by "-" keeps two dashes matched).
    if (c === this.closer[this.matched]) {
      this.matched++;
      if (this.matched === this.closer.length) {
        this.state = State.Text;
        this.matched = 0;
      }
    } else if (this.matched === 2 && c === this.closer[1] && this.closer[0] === this.closer[1]) {
      // "---" or "]]]": still two matched
    } else this.matched = c === this.closer[0] ? 1 : 0;
  }

  private endTag(selfClosing: boolean): void {
    if (this.nameTooLong) return;
    if (this.isEnd) {
      if (this.depth > 0 && --this.depth === 0) this.finished = true;
      return;
    }
    if (this.depth === 0) {
      if (!selfClosing && this.localNameIs(this.parent)) this.depth = 1;
      return;
    }
    if (this.depth === 1 && this.localNameIs(this.child)) this.count++;
    if (!selfClosing) this.depth++;
  }

  private localNameIs(expected: Uint8Array): boolean {
    if (this.nameLength - this.localStart !== expected.length) return false;
    for (let i = 0; i < expected.length; i++) if (this.name[this.localStart + i] !== expected[i]) return false;
    return true;
  }
}

function localName(qname: string): string {
  const colon = qname.lastIndexOf(String.fromCharCode(COLON));
  return colon >= 0 ? qname.slice(colon + 1) : qname;
}

/**
 * The attributes of every element named `element` (local name) in a small XML document, e.g. the
 * `Override` entries of [Content_Types].xml. Linear; values are returned raw (entities left as written).
 */
export function elementAttributes(xml: string, element: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf("<", i);
    if (lt < 0) break;
    if (xml.startsWith("<!--", lt)) {
      const end = xml.indexOf("-->", lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    // The name runs to whitespace, '/' or '>'.
    let j = lt + 1;
    while (j < n && !isNameEnd(xml.charCodeAt(j))) j++;
    const name = xml.slice(lt + 1, j);
    const attributes: Record<string, string> = {};
    // Attributes: name = "value" pairs until '>'.
    for (;;) {
      while (j < n && xml.charCodeAt(j) <= 0x20) j++;
      if (j >= n) break;
      const c = xml.charCodeAt(j);
      if (c === GT) {
        j++;
        break;
      }
      if (c === SLASH || c === QUESTION) {
        j++;
        continue;
      }
      const nameStart = j;
      while (j < n && xml.charCodeAt(j) !== 0x3d && xml.charCodeAt(j) !== GT && xml.charCodeAt(j) > 0x20) j++;
      const attribute = xml.slice(nameStart, j);
      while (j < n && xml.charCodeAt(j) <= 0x20) j++;
      if (xml.charCodeAt(j) !== 0x3d) continue; // a bare word: skip it
      j++;
      while (j < n && xml.charCodeAt(j) <= 0x20) j++;
      const quote = xml.charCodeAt(j);
      if (quote !== DQUOTE && quote !== SQUOTE) continue;
      const close = xml.indexOf(String.fromCharCode(quote), j + 1);
      if (close < 0) {
        j = n;
        break;
      }
      attributes[attribute] = xml.slice(j + 1, close);
      j = close + 1;
    }
    if (localName(name) === element) out.push(attributes);
    i = j > lt ? j : lt + 1;
  }
  return out;
}

function isNameEnd(c: number): boolean {
  return c <= 0x20 || c === SLASH || c === GT;
}
