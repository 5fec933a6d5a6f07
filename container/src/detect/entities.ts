// Entity expansion in markup ("billion laughs"): a DOCTYPE's internal subset, read declaration by declaration,
// and a budget on what its entities expand to. Each general entity's full expansion is computed (memoized; a
// cycle is refused), and one that expands past a small cap, or nests deeper than a few levels, is refused, as
// are parameter entities and external ones (no office document needs them; an external one's size cannot be
// known). The converter also counts every reference in the whole file against a total cap (ReferenceCounter).
// One forward pass with indexOf, no regular expressions.

export const ENTITY_LIMITS = {
  /** The most one general entity may expand to, in characters. */
  maxExpansion: 64 * 1024,
  /** The longest chain of entities referencing entities (an entity that references none is 1 deep). */
  maxDepth: 4,
  /** The most all references in the document may expand to together (the converter's check of the whole file). */
  maxTotalExpansion: 32 * 1024 * 1024,
  /** The internal subset must end within this many bytes from the start of the (inflated) file. */
  prologBytes: 64 * 1024,
};

/** What an internal subset declares, as far as the budget needs it. */
export interface InternalSubset {
  /** Index just past the subset's closing `]`. */
  end: number;
  /** General entities: their literal value, or null for an external one (SYSTEM/PUBLIC). */
  general: Map<string, string | null>;
  /** A parameter entity declared or referenced (`<!ENTITY % name …>`, `%name;`). */
  parameter: string | null;
  /** The quoted literals of ATTLIST declarations (their defaults apply to every element of the type). */
  attributeDefaults: string[];
}

export type SubsetReading = InternalSubset | { incomplete: true } | { malformed: string };

/** Reads the internal subset that starts at `start` (just past its `[`) up to its closing `]`. */
export function readInternalSubset(text: string, start: number): SubsetReading {
  const subset: InternalSubset = { end: -1, general: new Map(), parameter: null, attributeDefaults: [] };
  const incomplete = { incomplete: true } as const;
  let i = start;
  for (;;) {
    i = skipSpace(text, i);
    if (i >= text.length) return incomplete;
    const c = text[i];
    if (c === "]") {
      subset.end = i + 1;
      return subset;
    }
    if (c === "%") {
      const end = text.indexOf(";", i);
      if (end < 0) return incomplete;
      subset.parameter ??= text.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) return incomplete;
      i = end + 3;
    } else if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2);
      if (end < 0) return incomplete;
      i = end + 2;
    } else if (text.startsWith("<!ENTITY", i)) {
      const end = readEntity(text, i + 8, subset);
      if (typeof end !== "number") return end;
      i = end;
    } else if (text.startsWith("<!ELEMENT", i) || text.startsWith("<!ATTLIST", i) || text.startsWith("<!NOTATION", i)) {
      const literals: string[] = [];
      const end = declarationEnd(text, i + 2, literals);
      if (end < 0) return incomplete;
      if (text.startsWith("<!ATTLIST", i)) subset.attributeDefaults.push(...literals);
      i = end;
    } else {
      return { malformed: `the DOCTYPE's internal subset holds "${text.slice(i, i + 12)}…", not a declaration` };
    }
  }
}

/** One `<!ENTITY …>` from just past its keyword: the index past its `>`, or why it cannot be read. */
function readEntity(
  text: string,
  from: number,
  subset: InternalSubset,
): number | { incomplete: true } | { malformed: string } {
  let i = skipSpace(text, from);
  let parameter = false;
  if (text[i] === "%") {
    parameter = true;
    i = skipSpace(text, i + 1);
  }
  const nameStart = i;
  while (i < text.length && !isNameEnd(text.charCodeAt(i))) i++;
  if (i >= text.length) return { incomplete: true };
  const name = text.slice(nameStart, i);
  if (!name) return { malformed: "an ENTITY declaration without a name" };
  i = skipSpace(text, i);
  if (i >= text.length) return { incomplete: true };
  let value: string | null = null;
  const quote = text[i];
  if (quote === '"' || quote === "'") {
    const close = text.indexOf(quote, i + 1);
    if (close < 0) return { incomplete: true };
    value = text.slice(i + 1, close);
    i = close + 1;
  } else if (!text.startsWith("SYSTEM", i) && !text.startsWith("PUBLIC", i)) {
    return { malformed: `the entity ${name} has neither a value nor SYSTEM/PUBLIC` };
  }
  const end = declarationEnd(text, i, []);
  if (end < 0) return { incomplete: true };
  if (parameter) subset.parameter ??= name;
  else if (!subset.general.has(name)) subset.general.set(name, value); // the first declaration binds
  return end;
}

/** The index past the `>` that ends a declaration (quoted literals skipped and collected), or -1. */
function declarationEnd(text: string, from: number, literals: string[]): number {
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === ">") return i + 1;
    if (c === '"' || c === "'") {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return -1;
      literals.push(text.slice(i + 1, close));
      i = close + 1;
    } else i++;
  }
  return -1;
}

/** General entities' full expansions, in characters, or why the subset is refused. */
export type EntityBudget = { ok: true; expansions: Map<string, number> } | { ok: false; detail: string };

class Refusal extends Error {}

export function entityBudget(subset: InternalSubset, limits = ENTITY_LIMITS): EntityBudget {
  if (subset.parameter !== null)
    return {
      ok: false,
      detail: `the DOCTYPE uses a parameter entity (%${subset.parameter}); no office document needs one, and entity bombs hide behind them`,
    };
  for (const [name, value] of subset.general)
    if (value === null)
      return {
        ok: false,
        detail: `the entity ${name} is external (SYSTEM/PUBLIC): it names another file, and what it would read cannot be budgeted`,
      };
  const expansions = new Map<string, number>();
  const depths = new Map<string, number>();
  // Returns the entity's expansion; `path` holds the entities being expanded (at most maxDepth of them).
  const measure = (name: string, path: string[]): number => {
    const known = expansions.get(name);
    if (known !== undefined) return known;
    if (path.includes(name))
      throw new Refusal(`the entity ${name} refers to itself (${[...path, name].join(" → ")}): it never ends`);
    if (path.length >= limits.maxDepth)
      throw new Refusal(
        `entities nest more than ${limits.maxDepth} deep (${[...path, name].join(" → ")}), as entity bombs do`,
      );
    const value = subset.general.get(name)!;
    let size = 0;
    let depth = 1;
    for (const part of references(value)) {
      if (typeof part === "number") size += part;
      else if (subset.general.has(part)) {
        size += measure(part, [...path, name]);
        depth = Math.max(depth, depths.get(part)! + 1);
      } else size += part.length + 2; // predefined (&lt;) or undeclared: a character at most, or an error
      if (size > limits.maxExpansion)
        throw new Refusal(`the entity ${name} expands past ${limits.maxExpansion} characters, as entity bombs do`);
    }
    if (depth > limits.maxDepth)
      throw new Refusal(`entities nest more than ${limits.maxDepth} deep (at ${name}), as entity bombs do`);
    expansions.set(name, size);
    depths.set(name, depth);
    return size;
  };
  try {
    for (const name of subset.general.keys()) measure(name, []);
    for (const literal of subset.attributeDefaults)
      for (const part of references(literal))
        if (typeof part === "string" && subset.general.has(part))
          throw new Refusal(
            `an attribute default refers to the entity ${part}: it would expand in every element of its type`,
          );
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, detail: error.message };
    throw error;
  }
  return { ok: true, expansions };
}

/**
 * A literal's parts: runs of plain characters (their length) and the names of `&name;` references. A `%name;`
 * (a parameter entity's reference, which only an entity value can hold) is refused.
 */
function* references(literal: string): Generator<number | string> {
  let plain = 0;
  let i = 0;
  while (i < literal.length) {
    const c = literal[i];
    if (c !== "&" && c !== "%") {
      plain++;
      i++;
      continue;
    }
    // A name up to ';' (character references "&#…;" are plain): one pass, nothing rescanned.
    let j = i + 1;
    while (j < literal.length && !isNameEnd(literal.charCodeAt(j)) && literal[j] !== "&") j++;
    const named = j > i + 1 && literal[j] === ";" && literal[i + 1] !== "#";
    if (!named) {
      plain += j - i;
      i = j;
      continue;
    }
    const name = literal.slice(i + 1, j);
    if (c === "%") throw new Refusal(`an entity value refers to the parameter entity %${name};`);
    if (plain) yield plain;
    plain = 0;
    yield name;
    i = j + 1;
  }
  if (plain) yield plain;
}

/**
 * Counts, over a document's decoded text fed in chunks, what its `&name;` references to the subset's entities
 * expand to (references in comments and CDATA too: an overcount, never an undercount). `skip` characters
 * (the prolog up to the subset's end) are not counted: the subset's own values were measured already.
 */
export class ReferenceCounter {
  total = 0;
  private readonly expansions: Map<string, number>;
  private readonly longestName: number;
  private skip: number;
  private carry = "";

  constructor(expansions: Map<string, number>, skip: number) {
    this.expansions = expansions;
    this.skip = skip;
    let longest = 0;
    for (const name of expansions.keys()) longest = Math.max(longest, name.length);
    this.longestName = longest;
  }

  write(chunk: string): void {
    let text = chunk;
    if (this.skip > 0) {
      if (text.length <= this.skip) {
        this.skip -= text.length;
        return;
      }
      text = text.slice(this.skip);
      this.skip = 0;
    }
    text = this.carry + text;
    this.carry = "";
    let i = text.indexOf("&");
    while (i >= 0) {
      // The name runs to ';'; anything else that cannot be in a name, or a name longer than any declared, ends it.
      let j = i + 1;
      const limit = i + 1 + this.longestName;
      while (j < text.length && j <= limit && text[j] !== ";" && text[j] !== "&" && !isNameEnd(text.charCodeAt(j))) j++;
      if (j >= text.length && j <= limit) {
        this.carry = text.slice(i); // a reference cut by the chunk's end
        return;
      }
      if (text[j] === ";") this.total += this.expansions.get(text.slice(i + 1, j)) ?? 0;
      i = text.indexOf("&", j);
    }
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && text.charCodeAt(i) <= 0x20) i++;
  return i;
}

// Whitespace, quotes, '<', '>', '%' and ';' end a name.
function isNameEnd(c: number): boolean {
  return c <= 0x20 || c === 0x22 || c === 0x27 || c === 0x3c || c === 0x3e || c === 0x25 || c === 0x3b;
}
