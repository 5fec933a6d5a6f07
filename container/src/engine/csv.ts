// CSV formula neutralising (OWASP "CSV Injection"): a cell that starts with = + - @, a tab or a carriage return is
// run as a formula by the spreadsheet that opens the CSV; a leading ' makes it text. Plain signed numbers
// ("-12", "+3.5", "-1,234.00", "-1E+10", "-5%") are left alone: spreadsheets read them as numbers, never as
// formulas. Works on LibreOffice's CSV output (comma-separated, double quotes, UTF-8) as bytes, streaming.

import { createReadStream, createWriteStream } from "node:fs";
import { rename } from "node:fs/promises";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const APOSTROPHE = 0x27;
const TRIGGERS = new Set([0x3d /* = */, 0x2b /* + */, 0x2d /* - */, 0x40 /* @ */, 0x09 /* tab */, CR]);
const PLAIN_NUMBER = /^[+-](?:\d[\d.,]*|[.,]\d+)(?:[eE][+-]?\d+)?%?$/;
/** A cell longer than this is judged by its first byte alone (a number is never this long). */
const MAX_JUDGED = 64;

type State = "start" | "unquoted" | "quoted" | "quoteInQuoted";

/** Rewrites CSV bytes, prefixing formula-like cells with '. */
export class FormulaEscaper extends Transform {
  private state: State = "start";
  /** The current cell's bytes so far (without its quotes), while its fate is undecided. */
  private cell: number[] = [];
  private quoted = false;
  private decided = false;
  private out: number[] = [];

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const byte of chunk) this.step(byte);
    this.flushOut();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== "start") this.endCell();
    this.flushOut();
    callback();
  }

  private step(byte: number): void {
    switch (this.state) {
      case "start":
        this.quoted = byte === QUOTE;
        this.state = this.quoted ? "quoted" : "unquoted";
        if (this.quoted) return;
        if (byte === COMMA || byte === LF || byte === CR) return this.terminate(byte);
        return this.content(byte);
      case "unquoted":
        if (byte === COMMA || byte === LF || byte === CR) return this.terminate(byte);
        return this.content(byte);
      case "quoted":
        if (byte === QUOTE) this.state = "quoteInQuoted";
        else this.content(byte);
        return;
      case "quoteInQuoted":
        if (byte === COMMA || byte === LF || byte === CR) return this.terminate(byte);
        // "" is a quote inside the cell; a lone quote followed by more text (never written by LibreOffice) is
        // kept as one too.
        this.state = "quoted";
        this.content(QUOTE, true);
        if (byte !== QUOTE) this.content(byte);
        return;
    }
  }

  /** One content byte of the current cell; `escapedQuote`: a quote that is written doubled. */
  private content(byte: number, escapedQuote = false): void {
    if (this.decided) return this.emitContent(byte, escapedQuote);
    this.cell.push(escapedQuote ? -byte : byte);
    if (this.cell.length === 1 && !TRIGGERS.has(byte)) this.decide(false);
    else if (this.cell.length > MAX_JUDGED) this.decide(true);
  }

  private decide(prefix: boolean): void {
    this.decided = true;
    if (this.quoted) this.out.push(QUOTE);
    if (prefix) this.out.push(APOSTROPHE);
    for (const b of this.cell) this.emitContent(Math.abs(b), b < 0);
    this.cell = [];
  }

  private emitContent(byte: number, escapedQuote: boolean): void {
    this.out.push(byte);
    if (escapedQuote) this.out.push(QUOTE);
  }

  private endCell(): void {
    if (!this.decided) {
      const first = this.cell.length ? Math.abs(this.cell[0]!) : undefined;
      const text = Buffer.from(this.cell.map(Math.abs)).toString("latin1");
      this.decide(first !== undefined && TRIGGERS.has(first) && !PLAIN_NUMBER.test(text));
    }
    if (this.quoted) this.out.push(QUOTE);
    this.decided = false;
    this.quoted = false;
  }

  private terminate(separator: number): void {
    this.endCell();
    this.out.push(separator);
    this.state = "start";
  }

  private flushOut(): void {
    if (this.out.length) {
      this.push(Buffer.from(this.out));
      this.out = [];
    }
  }
}

/** Neutralises the formula-like cells of the CSV file at `path` in place. */
export async function escapeCsvFormulas(path: string): Promise<void> {
  const scratch = `${path}.escaped`;
  await pipeline(createReadStream(path), new FormulaEscaper(), createWriteStream(scratch));
  await rename(scratch, path);
}
