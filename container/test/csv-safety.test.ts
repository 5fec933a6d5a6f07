// CSV safety (OWASP "CSV Injection"): CSV export gives formula-like cells a leading ' unless escapeFormulas=false;
// CSV import keeps "=1+1" as text, so csv→xlsx never makes a live formula. Checked with our own CSV parser and
// the xlsx's own XML.
import { Readable } from "node:stream";
import { describe, expect, test } from "vitest";
import { FormulaEscaper } from "../src/engine/csv.ts";
import { convert, fixture, makeWorkbook, unzip } from "./helpers.ts";

/** RFC 4180 rows, independently of the converter's code. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(cell), (cell = "");
    else if (c === "\n") row.push(cell), rows.push(row), (row = []), (cell = "");
    else if (c !== "\r") cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

async function escaped(text: string): Promise<string> {
  const chunks: Buffer[] = [];
  // One byte at a time: cells split across chunks must come out the same.
  for await (const chunk of Readable.from([...Buffer.from(text)].map((b) => Buffer.from([b]))).pipe(
    new FormulaEscaper(),
  ))
    chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

describe("the escaper", () => {
  test.each([
    ["=1+1,+A1,-A1,@SUM(1)\n", "'=1+1,'+A1,'-A1,'@SUM(1)\n"],
    ['"=HYPERLINK(""x"")",plain\n', '"\'=HYPERLINK(""x"")",plain\n'],
    ['-12,+3.5,"-1,234.00",-1E+10,-5%,-.5\n', '-12,+3.5,"-1,234.00",-1E+10,-5%,-.5\n'],
    ['\tx,"\rx",-,+\n', "'\tx,\"'\rx\",'-,'+\n"],
    ['a,,"",b\r\nc\n', 'a,,"",b\r\nc\n'],
    ["naïve,=ü\n", "naïve,'=ü\n"],
  ])("%j → %j", async (input, output) => {
    expect(await escaped(input)).toBe(output);
  });
});

describe("CSV through the converter", () => {
  test("CSV export neutralises formula-like cells by default and keeps numbers as they are", async () => {
    const res = await convert(fixture("hostile-formula-injection.csv"), { to: "csv" });
    expect(res.status).toBe(200);
    expect(parseCsv(res.body.toString("utf8"))).toEqual([
      ["name", "value", "note"],
      ["formula", "'=1+1", `'=HYPERLINK("http://example.invalid/?","click")`],
      ["dde", "'@SUM(1)", "'-2+3+cmd|' /C calc'!A0"],
      ["plus", "3", "'+1+1"],
      ["negative", "-12.5", "-1234.5"],
      ["tab", "'\tx", "plain"],
    ]);
  });

  test("escapeFormulas=false writes every cell verbatim", async () => {
    const res = await convert(fixture("hostile-formula-injection.csv"), { to: "csv", escapeFormulas: "false" });
    expect(res.status).toBe(200);
    const rows = parseCsv(res.body.toString("utf8"));
    expect(rows[1]).toEqual(["formula", "=1+1", `=HYPERLINK("http://example.invalid/?","click")`]);
    expect(rows[2]![1]).toBe("@SUM(1)");
  });

  test("escapeFormulas only takes true or false, and only for csv", async () => {
    expect(
      (await convert(fixture("hostile-formula-injection.csv"), { to: "csv", escapeFormulas: "no" })).json,
    ).toMatchObject({ error: "convert.invalid_option", option: "escapeFormulas" });
    expect(
      (await convert(fixture("hostile-formula-injection.csv"), { to: "pdf", escapeFormulas: "false" })).json,
    ).toMatchObject({ error: "convert.invalid_option", option: "escapeFormulas" });
  });

  test("text cells of a workbook that look like formulas are escaped, real numbers and number-like text are not", async () => {
    const book = makeWorkbook({ Sheet1: [["=1+1", "@x", -5, "-5", "+1 555 0100", "plain"]] });
    const res = await convert(book, { to: "csv" });
    expect(parseCsv(res.body.toString("utf8"))).toEqual([["'=1+1", "'@x", "-5", "-5", "'+1 555 0100", "plain"]]);
  });

  test("CSV import keeps =1+1 as text: csv→xlsx has no formula, csv→csv keeps (and escapes) the text", async () => {
    const xlsx = await convert(fixture("hostile-formula-injection.csv"), { to: "xlsx" });
    expect(xlsx.status).toBe(200);
    const parts = unzip(xlsx.body);
    const sheet = parts.get("xl/worksheets/sheet1.xml")!.toString("utf8");
    expect(sheet).not.toContain("<f");
    const strings = parts.get("xl/sharedStrings.xml")!.toString("utf8");
    expect(strings).toContain(">=1+1<");
    expect(strings).toContain(">@SUM(1)<");
  });
});
