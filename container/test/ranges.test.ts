// Page-range parsing and selection, and the ZIP writer, without a server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { writeZip } from "../src/engine/zip.ts";
import { exportedPageNumbers, pageRangeText, parsePages, selectPages } from "../src/options.ts";
import { unzip } from "./helpers.ts";

describe("pages", () => {
  test("ranges are sorted and merged", () => {
    expect(pageRangeText(parsePages("5, 3-4,1"))).toBe("1,3-5");
    expect(pageRangeText(parsePages("2-6,4-9"))).toBe("2-9");
    expect(pageRangeText(parsePages("3-,1"))).toBe("1,3-");
    expect(pageRangeText(parsePages("1-2,2-"))).toBe("1-");
  });

  test("selection stays within the document and names what is missing", () => {
    expect(selectPages(parsePages("2-"), 4)).toEqual([2, 3, 4]);
    expect(selectPages(undefined, 3)).toEqual([1, 2, 3]);
    expect(() => selectPages(parsePages("3-5"), 4)).toThrow(/page 5 .* 4 page/);
  });

  test("a huge range is not expanded before it meets the document", () => {
    expect(() => selectPages(parsePages("1-99999"), 2)).toThrow(/2 page/);
    expect(() => exportedPageNumbers(parsePages("1-99999"), 2)).toThrow(/only 2/);
  });

  test("the pages of a PDF exported with a page range are numbered as in the document", () => {
    expect(exportedPageNumbers(parsePages("2,7-"), 2)).toEqual([2, 7]);
    expect(exportedPageNumbers(parsePages("2,7-"), 4)).toEqual([2, 7, 8, 9]);
    expect(exportedPageNumbers(parsePages("1,3-4"), 3)).toEqual([1, 3, 4]);
    // A closed range must exist whole, as for pdf output.
    expect(() => exportedPageNumbers(parsePages("2-5"), 2)).toThrow(/asked for 4 page\(s\) but only 2/);
    expect(() => exportedPageNumbers(parsePages("2,7-"), 1)).toThrow(/only 1/);
    // More pages than the selection allows: the range was not applied, the PDF is the whole document.
    expect(exportedPageNumbers(parsePages("1-2"), 5)).toBeUndefined();
  });
});

describe("writeZip", () => {
  const dir = mkdtempSync(join(tmpdir(), "docconv-zip-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("writes stored and deflated entries any reader can check", async () => {
    writeFileSync(join(dir, "a.csv"), "x,y\n".repeat(1000));
    writeFileSync(join(dir, "b.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    await writeZip(join(dir, "out.zip"), [
      { name: "1-Données.csv", path: join(dir, "a.csv"), compress: true },
      { name: "page-001.png", path: join(dir, "b.png"), compress: false },
    ]);
    const zip = readFileSync(join(dir, "out.zip"));
    expect(zip.length).toBeLessThan(1000); // the CSV deflated
    const entries = unzip(zip);
    expect([...entries.keys()]).toEqual(["1-Données.csv", "page-001.png"]);
    expect(entries.get("1-Données.csv")!.toString()).toBe("x,y\n".repeat(1000));
    expect(entries.get("page-001.png")).toEqual(readFileSync(join(dir, "b.png")));
  });
});
