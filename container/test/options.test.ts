// The conversion options over HTTP: sheet, pages, dpi, quality, pdfa, and their validation.
import { describe, expect, test } from "vitest";
import {
  checkPng,
  convert,
  csvRows,
  fixture,
  isJpeg,
  isPng,
  makeWorkbook,
  pdfPages,
  pngSize,
  unzip,
} from "./helpers.ts";

const workbook = makeWorkbook(
  {
    North: [
      ["region", "amount"],
      ["north", 10],
    ],
    "Données €": [
      ["région", "montant"],
      ["sud", 20],
      ["est", 30],
    ],
    'Sales "EU" <2024>': [["x"], [1], [2], [3]],
  },
  1, // the second sheet is active
);

describe.concurrent("sheet (csv)", () => {
  test("without sheet, the workbook's active sheet is exported, with no sheet-name header", async () => {
    const res = await convert(workbook, { to: "csv" });
    expect(res.status).toBe(200);
    expect(csvRows(res.body.toString("utf8"))).toEqual(["région,montant", "sud,20", "est,30"]);
    expect(res.headers.get("x-input-pages")).toBe("3");
  });

  test("a 1-based index picks that sheet", async () => {
    const res = await convert(workbook, { to: "csv", sheet: 3 });
    expect(csvRows(res.body.toString("utf8"))).toEqual(["x", "1", "2", "3"]);
  });

  test("a name picks that sheet", async () => {
    const res = await convert(workbook, { to: "csv", sheet: "North" });
    expect(csvRows(res.body.toString("utf8"))).toEqual(["region,amount", "north,10"]);
  });

  test("all returns a ZIP with one <n>-<sanitized name>.csv per sheet", async () => {
    const res = await convert(workbook, { to: "csv", sheet: "all" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("x-output-extension")).toBe("zip");
    expect(res.headers.get("x-output-files")).toBe("3");
    const entries = unzip(res.body);
    expect([...entries.keys()]).toEqual(["1-North.csv", "2-Données €.csv", "3-Sales _EU_ _2024_.csv"]);
    expect(csvRows(entries.get("2-Données €.csv")!.toString("utf8"))).toEqual(["région,montant", "sud,20", "est,30"]);
  });

  test("all on a real workbook keeps hidden sheets and chart sheets in order", async () => {
    const res = await convert(fixture("xls-many-sheets.xls"), { to: "csv", sheet: "all" });
    const entries = unzip(res.body);
    expect([...entries.keys()]).toEqual(["1-Visible.csv", "2-Hidden.csv", "3-VeryHidden.csv", "4-Chart.csv"]);
    expect(csvRows(entries.get("1-Visible.csv")!.toString()).slice(0, 3)).toEqual(["1,2", "3,4", "5,6"]);
    expect(entries.get("4-Chart.csv")!.toString().trim()).toBe("");
  });

  test("a sheet that does not exist is convert.invalid_option naming the sheets", async () => {
    const byIndex = await convert(workbook, { to: "csv", sheet: 9 });
    expect(byIndex.status).toBe(400);
    expect(byIndex.json).toMatchObject({ error: "convert.invalid_option", option: "sheet" });
    expect(byIndex.json!.detail).toContain("North");
    const byName = await convert(workbook, { to: "csv", sheet: "South" });
    expect(byName.status).toBe(400);
    expect(byName.json).toMatchObject({ error: "convert.invalid_option", option: "sheet" });
  });
});

describe.concurrent("pages", () => {
  test("pdf output keeps only the selected pages", async () => {
    const res = await convert(fixture("rtf-raw-text.rtf"), { to: "pdf", pages: "2-3" });
    expect(res.status).toBe(200);
    expect(pdfPages(res.body)).toBe(2);
    expect(res.headers.get("x-output-pages")).toBe("2");
    expect(res.headers.get("x-input-pages")).toBe("3");
  });

  test("one selected page of an image target is a single image, not a ZIP", async () => {
    const res = await convert(fixture("pptx-raw-text.pptx"), { to: "png", pages: "2" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-output-files")).toBe("1");
    expect(isPng(res.body)).toBe(true);
  });

  test("several selected pages are a ZIP named by page number; open ranges run to the end", async () => {
    const listed = await convert(fixture("rtf-raw-text.rtf"), { to: "png", pages: "1,3", dpi: 50 });
    expect([...unzip(listed.body).keys()]).toEqual(["page-001.png", "page-003.png"]);
    const open = await convert(fixture("odp-placeholders.odp"), { to: "jpg", pages: "7-", dpi: 40 });
    expect([...unzip(open.body).keys()]).toEqual(["page-007.jpg", "page-008.jpg", "page-009.jpg"]);
    expect(open.headers.get("x-output-pages")).toBe("3");
  });

  test("a selected page looks the same as that page of the whole document (only it is exported)", async () => {
    for (const [file, page] of [
      ["odp-placeholders.odp", 7],
      ["rtf-raw-text.rtf", 2],
      ["xlsx-many-sheets.xlsx", 2],
    ] as const) {
      const [one, all] = await Promise.all([
        convert(fixture(file), { to: "png", pages: page, dpi: 40 }),
        convert(fixture(file), { to: "png", dpi: 40 }),
      ]);
      expect(one.status, file).toBe(200);
      expect(one.headers.get("x-input-pages"), file).toBe(all.headers.get("x-input-pages"));
      const whole = unzip(all.body).get(`page-${String(page).padStart(3, "0")}.png`)!;
      expect(checkPng(one.body).scanlines.equals(checkPng(whole).scanlines), `${file} page ${page}`).toBe(true);
    }
  });

  test("pdf sources render the selected pages directly", async () => {
    const res = await convert(fixture("pdf-raw-text.pdf"), { to: "jpg", pages: "2" });
    expect(res.status).toBe(200);
    expect(isJpeg(res.body)).toBe(true);
    expect(res.headers.get("x-input-pages")).toBe("2");
  });

  test("pages past the end are convert.invalid_option", async () => {
    for (const [file, to] of [
      ["rtf-raw-text.rtf", "png"],
      ["rtf-raw-text.rtf", "pdf"],
      ["pdf-raw-text.pdf", "png"],
    ]) {
      const res = await convert(fixture(file!), { to: to!, pages: "7-9" });
      expect(res.status, `${file} → ${to}`).toBe(400);
      expect(res.json).toMatchObject({ error: "convert.invalid_option", option: "pages" });
    }
  });

  test("malformed ranges are refused before any conversion", async () => {
    for (const pages of ["abc", "0", "3-1", "1--2", "1,,2"]) {
      const res = await convert(fixture("pdf-raw-text.pdf"), { to: "png", pages });
      expect(res.status, pages).toBe(400);
      expect(res.json).toMatchObject({ error: "convert.invalid_option", option: "pages" });
    }
  });
});

describe.concurrent("image options", () => {
  test("dpi scales the rendered pages", async () => {
    const [low, high] = await Promise.all(
      [50, 100].map((dpi) => convert(fixture("pdf-raw-text.pdf"), { to: "png", pages: "1", dpi })),
    );
    const a = pngSize(low!.body);
    const b = pngSize(high!.body);
    expect(Math.abs(b.width - 2 * a.width)).toBeLessThanOrEqual(2);
    expect(a.width).toBeGreaterThan(300); // 8.5 in × 50 dpi ≈ 425 px
  });

  test("quality trades jpg size", async () => {
    const [poor, fine] = await Promise.all(
      [10, 95].map((quality) => convert(fixture("pdf-raw-text.pdf"), { to: "jpg", pages: "1", quality })),
    );
    expect(isJpeg(poor!.body) && isJpeg(fine!.body)).toBe(true);
    expect(poor!.body.length * 2).toBeLessThan(fine!.body.length);
  });

  test("out-of-range dpi and quality are refused", async () => {
    expect((await convert(fixture("pdf-raw-text.pdf"), { to: "png", dpi: 5000 })).json).toMatchObject({
      option: "dpi",
    });
    expect((await convert(fixture("pdf-raw-text.pdf"), { to: "jpg", quality: 0 })).json).toMatchObject({
      option: "quality",
    });
  });
});

describe.concurrent("pdf options and applicability", () => {
  test("pdfa=2b writes PDF/A-2b metadata", async () => {
    const res = await convert(fixture("docx-header-footer.docx"), { to: "pdf", pdfa: "2b" });
    expect(res.status).toBe(200);
    const text = res.body.toString("latin1");
    expect(text).toMatch(/<pdfaid:part>2<\/pdfaid:part>/);
    expect(text).toMatch(/<pdfaid:conformance>B<\/pdfaid:conformance>/);
    const plain = await convert(fixture("docx-header-footer.docx"), { to: "pdf" });
    expect(plain.body.toString("latin1")).not.toContain("pdfaid:part");
  });

  test("an option that does not apply to the target is convert.invalid_option", async () => {
    const cases: [string, Record<string, string>][] = [
      ["pdf", { dpi: "100" }],
      ["csv", { pages: "1" }],
      ["png", { pdfa: "1b" }],
      ["pdf", { sheet: "1" }],
      ["pdf", { pdfa: "4b" }],
      ["pdf", { timeout: "0" }],
      ["pdf", { timeout: "100000" }],
    ];
    for (const [to, option] of cases) {
      const res = await convert(fixture("xlsx-simple.xlsx"), { to, ...option });
      expect(res.status, `${to} ${JSON.stringify(option)}`).toBe(400);
      expect(res.json).toMatchObject({ error: "convert.invalid_option", option: Object.keys(option)[0] });
    }
  });
});
