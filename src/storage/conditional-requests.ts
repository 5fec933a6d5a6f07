// RFC 9110 §13 (conditional requests) and §14 (range requests) for downloads: pure functions of the request's
// header fields and the stored object's validators. A malformed field is ignored, as the RFC asks, never an
// error; every parser here is a single linear scan (the fields are the caller's bytes).

export interface Validators {
  /** The object's strong entity-tag, quoted (`"…"`), as R2's `httpEtag`. */
  etag: string;
  /** When the object was stored, ms since the epoch; HTTP dates have whole seconds. */
  lastModified: number;
}

export type PreconditionOutcome = "proceed" | "not_modified" | "precondition_failed";

/**
 * §13.2.2's order: If-Match (else If-Unmodified-Since) failing → 412; If-None-Match (else If-Modified-Since)
 * matching → 304 on GET/HEAD, 412 otherwise. A field that does not parse is treated as absent.
 */
export function evaluatePreconditions(
  method: string,
  headers: Headers,
  validators: Validators,
  now = Date.now(),
): PreconditionOutcome {
  const safe = method === "GET" || method === "HEAD";
  const lastModified = Math.floor(validators.lastModified / 1000) * 1000;
  const ifMatch = parseEntityTags(headers.get("if-match"));
  if (ifMatch) {
    if (!matches(ifMatch, validators.etag, "strong")) return "precondition_failed";
  } else {
    const since = parseHttpDate(headers.get("if-unmodified-since"));
    if (since !== null && lastModified > since) return "precondition_failed";
  }
  const ifNoneMatch = parseEntityTags(headers.get("if-none-match"));
  if (ifNoneMatch) {
    if (matches(ifNoneMatch, validators.etag, "weak")) return safe ? "not_modified" : "precondition_failed";
  } else if (safe) {
    const since = parseHttpDate(headers.get("if-modified-since"));
    // A date in the future is not a valid validator (§13.1.3).
    if (since !== null && since <= now && lastModified <= since) return "not_modified";
  }
  return "proceed";
}

export type RangeOutcome =
  | { kind: "full" }
  | { kind: "partial"; offset: number; length: number }
  | { kind: "unsatisfiable" };

/**
 * The part of the object to send (§14.2): the whole of it when the request has no usable Range (not GET, an
 * unknown unit, invalid syntax, several ranges — multipart/byteranges is not served — or an If-Range that does
 * not match), one range when it has one, and `unsatisfiable` when that range starts past the end.
 */
export function selectRange(method: string, headers: Headers, size: number, validators: Validators): RangeOutcome {
  const field = headers.get("range");
  if (method !== "GET" || field === null) return { kind: "full" };
  if (headers.has("if-range") && !ifRangeMatches(headers.get("if-range")!, validators)) return { kind: "full" };
  const spec = parseSingleByteRange(field);
  if (!spec) return { kind: "full" };
  if ("suffix" in spec) {
    if (spec.suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    const length = Math.min(spec.suffix, size);
    return { kind: "partial", offset: size - length, length };
  }
  if (spec.first >= size) return { kind: "unsatisfiable" };
  const last = spec.last === null ? size - 1 : Math.min(spec.last, size - 1);
  return { kind: "partial", offset: spec.first, length: last - spec.first + 1 };
}

type ByteRange = { first: number; last: number | null } | { suffix: number };

/** `bytes=<first>-[<last>]` or `bytes=-<suffix>`; null for anything else, several ranges included. */
export function parseSingleByteRange(field: string): ByteRange | null {
  const eq = field.indexOf("=");
  if (eq < 0 || field.slice(0, eq).toLowerCase() !== "bytes") return null;
  // A list: empty elements are allowed (§5.6.1.2), at least one range is not.
  const specs = field
    .slice(eq + 1)
    .split(",")
    .map(trimOws)
    .filter((s) => s !== "");
  if (specs.length !== 1) return null;
  const spec = specs[0]!;
  const dash = spec.indexOf("-");
  if (dash < 0) return null;
  const first = spec.slice(0, dash);
  const last = spec.slice(dash + 1);
  if (first === "") return isDigits(last) ? { suffix: Number(last) } : null;
  if (!isDigits(first) || (last !== "" && !isDigits(last))) return null;
  const range = { first: Number(first), last: last === "" ? null : Number(last) };
  return range.last !== null && range.last < range.first ? null : range;
}

function ifRangeMatches(field: string, validators: Validators): boolean {
  const value = trimOws(field);
  if (value.startsWith('"') || value.startsWith("W/")) {
    const tags = parseEntityTags(value);
    // One strong tag, compared strongly (§13.1.5); a weak tag never matches.
    return tags !== null && tags !== "*" && tags.length === 1 && matches(tags, validators.etag, "strong");
  }
  const date = parseHttpDate(value);
  return date !== null && date === Math.floor(validators.lastModified / 1000) * 1000;
}

// ---- entity-tags (§8.8.3) ----------------------------------------------------------------------------------

interface EntityTag {
  weak: boolean;
  opaque: string; // with its quotes
}

/** `*`, or a list of entity-tags; null when absent or malformed (then the field is ignored). */
export function parseEntityTags(field: string | null): "*" | EntityTag[] | null {
  if (field === null) return null;
  if (trimOws(field) === "*") return "*";
  const tags: EntityTag[] = [];
  let i = 0;
  const n = field.length;
  for (;;) {
    while (i < n && (field[i] === " " || field[i] === "\t" || field[i] === ",")) i++;
    if (i >= n) break;
    let weak = false;
    if (field.startsWith("W/", i)) {
      weak = true;
      i += 2;
    }
    if (field[i] !== '"') return null;
    let j = i + 1;
    while (j < n && field[j] !== '"') {
      const c = field.charCodeAt(j);
      // etagc = %x21 / %x23-7E / obs-text
      if (!(c === 0x21 || (c >= 0x23 && c <= 0x7e) || (c >= 0x80 && c <= 0xff))) return null;
      j++;
    }
    if (j >= n) return null;
    tags.push({ weak, opaque: field.slice(i, j + 1) });
    i = j + 1;
    while (i < n && (field[i] === " " || field[i] === "\t")) i++;
    if (i < n && field[i] !== ",") return null;
  }
  return tags.length ? tags : null;
}

function matches(tags: "*" | EntityTag[], etag: string, comparison: "strong" | "weak"): boolean {
  if (tags === "*") return true; // the representation exists
  return tags.some((t) => t.opaque === etag && (comparison === "weak" || !t.weak));
}

// ---- HTTP-date (§5.6.7) ------------------------------------------------------------------------------------

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
const RFC850_DATE =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d\d)-([A-Z][a-z]{2})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/;
const ASCTIME_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;

/** ms since the epoch for the three formats a recipient must accept; null for anything else. */
export function parseHttpDate(field: string | null): number | null {
  if (field === null) return null;
  const value = trimOws(field);
  let m: RegExpExecArray | null;
  if ((m = IMF_FIXDATE.exec(value))) return utc(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  if ((m = RFC850_DATE.exec(value))) {
    // A two-digit year more than 50 years in the future is in the past century (§5.6.7).
    const now = new Date().getUTCFullYear();
    let year = Math.floor(now / 100) * 100 + +m[3]!;
    if (year > now + 50) year -= 100;
    return utc(year, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  if ((m = ASCTIME_DATE.exec(value))) return utc(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  return null;
}

function utc(
  year: number,
  monthName: string,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | null {
  const month = MONTHS.indexOf(monthName);
  if (month < 0 || hour > 23 || minute > 59 || second > 60) return null;
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, Math.min(second, 59)));
  date.setUTCFullYear(year, month, day); // Date.UTC would read years below 100 as 19xx
  // Rejects 31 Feb and the like instead of rolling over.
  return date.getUTCDate() === day ? date.getTime() : null;
}

// ---- small helpers -----------------------------------------------------------------------------------------

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === " " || s[a] === "\t")) a++;
  while (b > a && (s[b - 1] === " " || s[b - 1] === "\t")) b--;
  return s.slice(a, b);
}

function isDigits(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
