// Text without a signature: is the head text at all, in which encoding, and does it split into columns.
// Also what LibreOffice's CSV import needs to know (container/src/engine/csv-import.ts builds its options).

export const TEXT_SAMPLE_BYTES = 8 * 1024;
const CSV_SAMPLE_BYTES = 4 * 1024;

export type TextEncoding = "utf-8" | "utf-16le" | "utf-16be" | "windows-1252";

/** Text if no NUL and under 1 % control characters in the sample (UTF-16 with a byte-order mark is text too). */
export function looksLikeText(head: Uint8Array): boolean {
  const sample = head.subarray(0, TEXT_SAMPLE_BYTES);
  if (sample.length === 0) return false;
  if (utf16Bom(sample)) return true;
  let control = 0;
  for (const b of sample) {
    if (b === 0) return false;
    if (b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b)) control++;
  }
  return control <= sample.length / 100;
}

function utf16Bom(head: Uint8Array): "utf-16le" | "utf-16be" | null {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return "utf-16le";
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return "utf-16be";
  return null;
}

/** The head decoded, with the encoding that decoded it: UTF-16 by its mark, UTF-8 when valid, else Windows-1252. */
export function decodeHead(head: Uint8Array, complete: boolean): { text: string; encoding: TextEncoding } {
  const bom = utf16Bom(head);
  if (bom)
    return { text: new TextDecoder(bom).decode(head.subarray(0, head.length - (head.length % 2))), encoding: bom };
  // A multi-byte character cut by the end of the window is not an encoding error.
  const cut = complete ? head : head.subarray(0, lastCharBoundary(head));
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(cut), encoding: "utf-8" };
  } catch {
    return { text: new TextDecoder("windows-1252").decode(head), encoding: "windows-1252" };
  }
}

function lastCharBoundary(bytes: Uint8Array): number {
  let end = bytes.length;
  // Back over continuation bytes to the lead byte of the last character, and drop it if it is incomplete.
  let i = end - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && (bytes[i]! & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return end;
  const lead = bytes[i]!;
  const needed = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  if (needed > continuation) end = i;
  return end;
}

const SEPARATORS = [",", ";", "\t", "|"] as const;

/**
 * The separator that splits the first lines most consistently (quotes respected), or null when none splits
 * every line the same way. Looks at the first 20 non-empty lines of `text`, which must end at a line end
 * (see `wholeLines`) unless it is the whole file.
 */
export function guessSeparator(text: string): { separator: string; consistent: boolean; lines: number } | null {
  const lines: string[] = [];
  let start = 0;
  while (lines.length < 20 && start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end > start && text[end - 1] === "\r" ? end - 1 : end);
    if (line.length > 0) lines.push(line);
    start = end + 1;
  }
  let best: { separator: string; consistent: boolean; lines: number } | null = null;
  let bestScore = 0;
  for (const separator of SEPARATORS) {
    const counts = lines.map((line) => countOutsideQuotes(line, separator));
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const same = counts.filter((c) => c === first).length;
    const score = same * 1000 + first;
    if (score > bestScore) {
      bestScore = score;
      best = { separator, consistent: same === counts.length, lines: lines.length };
    }
  }
  return best;
}

function countOutsideQuotes(line: string, separator: string): number {
  let inQuotes = false;
  let count = 0;
  for (const c of line) {
    if (c === '"') inQuotes = !inQuotes;
    else if (c === separator && !inQuotes) count++;
  }
  return count;
}

/** The text up to its last line end, when it is a window cut from a longer file (a partial line says nothing). */
export function wholeLines(text: string, complete: boolean): string {
  if (complete) return text;
  const end = text.lastIndexOf("\n");
  return end >= 0 ? text.slice(0, end + 1) : text;
}

/** CSV when at least two lines split the same way on one separator. */
export function looksLikeCsv(head: Uint8Array, complete: boolean): boolean {
  const whole = complete && head.length <= CSV_SAMPLE_BYTES;
  const { text } = decodeHead(head.subarray(0, CSV_SAMPLE_BYTES), whole);
  const guess = guessSeparator(wholeLines(text, whole));
  return guess?.consistent === true && guess.lines >= 2;
}
