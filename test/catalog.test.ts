import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sources, targets } from "../container/src/formats";
import { BASE, fixture, seedAccount, submit } from "./harness";

const get = (path: string, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(`${BASE}${path}`, { headers }));

describe("GET /v1/convert/conversions", () => {
  it("lists every pair of the converter's matrix with the contract's fields", async () => {
    const res = await get("/v1/convert/conversions");
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(Object.keys(body).sort()).toEqual([
      "conversions",
      "maxBatchFiles",
      "maxConcurrentJobs",
      "maxFileSizeBytes",
      "sourceFormatTo",
    ]);
    const pairs = Object.entries(sources).flatMap(([s, f]) => f.targets.map((t) => `${s}->${t}`));
    expect(body.conversions).toHaveLength(pairs.length);
    expect(Object.keys(body.sourceFormatTo).sort()).toEqual(Object.keys(sources).sort());
    const item = body.conversions.find((c: any) => c.job === "document.docx-to-pdf");
    expect(Object.keys(item).sort()).toEqual(
      [
        "category",
        "costing",
        "endpoint",
        "inputFormats",
        "job",
        "maxBatchSizeBytes",
        "maxConcurrentJobs",
        "maxDurationMinutes",
        "maxFileSizeBytes",
        "maxPages",
        "outputFormats",
      ].sort(),
    );
    expect(item).toMatchObject({
      category: "documents",
      endpoint: "/v1/convert",
      inputFormats: ["docx"],
      outputFormats: ["pdf"],
    });
    expect(Object.keys(item.costing).sort()).toEqual([
      "baseCost",
      "costVariants",
      "displaySuffix",
      "increment",
      "incrementUnit",
      "strategy",
    ]);
    const edge = body.sourceFormatTo.xlsx.find((e: any) => e.targetFormat === "csv");
    expect(Object.keys(edge).sort()).toEqual(
      [
        "category",
        "costing",
        "endpoint",
        "job",
        "maxConcurrentJobs",
        "maxDurationMinutes",
        "maxFileSizeBytes",
        "maxPages",
        "sourceFormat",
        "targetFormat",
      ].sort(),
    );
    expect(edge).toMatchObject({
      sourceFormat: "xlsx",
      targetFormat: "csv",
      job: "spreadsheet.xlsx-to-csv",
      category: "spreadsheets",
    });
    expect(body.sourceFormatTo.pptx.find((e: any) => e.targetFormat === "png").category).toBe("images");
    const categories = new Set(body.conversions.map((c: any) => c.category));
    expect([...categories].sort()).toEqual(["documents", "drawings", "images", "presentations", "spreadsheets"]);
    // Drawings and pictures are sources of their own; SVG per slide stays with the presentation.
    expect(body.sourceFormatTo.vsdx.find((e: any) => e.targetFormat === "svg")).toMatchObject({
      job: "drawing.vsdx-to-svg",
      category: "drawings",
    });
    expect(body.sourceFormatTo.png.find((e: any) => e.targetFormat === "pdf")).toMatchObject({
      job: "image.png-to-pdf",
      category: "images",
    });
    expect(body.sourceFormatTo.pptx.find((e: any) => e.targetFormat === "svg")).toMatchObject({
      job: "presentation.pptx-to-svg",
      category: "presentations",
    });
    expect(body.sourceFormatTo.html.map((e: any) => e.targetFormat)).toEqual([
      "pdf",
      "docx",
      "doc",
      "odt",
      "rtf",
      "txt",
      "epub",
      "png",
      "jpg",
    ]);
  });

  it("prices per page only where the source's count is exact from its structure, per megabyte elsewhere", async () => {
    const body = await (await get("/v1/convert/conversions")).json<any>();
    const edges = Object.values(body.sourceFormatTo).flat() as any[];
    const perPage = new Set(edges.filter((e) => e.costing.strategy === "PerPage").map((e) => e.sourceFormat));
    // From the matrix's own property, not a list: pdf pages, pptx and odp slides today.
    expect([...perPage].sort()).toEqual(
      Object.keys(sources)
        .filter((s) => sources[s as keyof typeof sources].countedUnit)
        .sort(),
    );
    expect([...perPage].sort()).toEqual(["odp", "pdf", "pptx"]);
    for (const e of edges) {
      const unit = sources[e.sourceFormat as keyof typeof sources].countedUnit;
      if (unit) {
        expect(e.costing, `${e.job}`).toMatchObject({
          strategy: "PerPage",
          incrementUnit: unit,
          increment: 10,
          displaySuffix: `per 10 ${unit}`,
        });
        expect(e.maxPages, e.job).toBe(2000);
      } else {
        expect(e.costing, `${e.job}`).toMatchObject({
          strategy: "PerMegabyte",
          incrementUnit: "mb",
          increment: 5,
          displaySuffix: "per 5 MB",
        });
        expect(e.maxPages, e.job).toBeNull();
      }
      expect(e.maxDurationMinutes).toBeNull();
      // Variants only where a converter really has them: PDF/A for targets that take the pdfa option.
      if (targets[e.targetFormat as keyof typeof targets].options.includes("pdfa" as never)) {
        expect(e.costing.costVariants).toEqual({
          pdfa: {
            description: expect.any(String),
            baseCost: e.costing.baseCost + 1,
            displaySuffix: e.costing.displaySuffix,
          },
        });
      } else {
        expect(e.costing.costVariants).toBeNull();
      }
    }
    const items = body.conversions as any[];
    expect(items.find((c) => c.job === "image.pdf-to-png")).toMatchObject({
      maxPages: 2000,
      costing: { strategy: "PerPage", incrementUnit: "pages" },
    });
    expect(items.find((c) => c.job === "document.docx-to-pdf")).toMatchObject({
      maxPages: null,
      costing: { strategy: "PerMegabyte" },
    });
    expect(items.filter((c) => c.costing.strategy === "PerMinute" || c.costing.strategy === "Fixed")).toEqual([]);
  });

  it("is cacheable: ETag, Cache-Control and 304 on If-None-Match", async () => {
    const first = await get("/v1/convert/conversions");
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^".+"$/);
    expect(first.headers.get("cache-control")).toContain("public");
    const again = await get("/v1/convert/conversions", { "if-none-match": etag! });
    expect(again.status).toBe(304);
  });
});

describe("GET /v1/convert/estimate/{from}/{to}", () => {
  const estimate = async (path: string) => {
    const res = await get(path);
    return { status: res.status, body: await res.json<any>() };
  };

  it("prices PerPage by started increments of the given pages", async () => {
    const { body } = await estimate("/v1/convert/estimate/pdf/png?pages=11");
    expect(body.costing).toMatchObject({ strategy: "PerPage", increment: 10, incrementUnit: "pages", baseCost: 1 });
    expect(body.inputs).toMatchObject({ pages: 11, pagesSource: "given" });
    expect(body.assumptions).toEqual([]);
    expect(body).toMatchObject({ quantity: 11, unit: "pages", increments: 2, creditCost: 2, maxPages: 11 });
    expect((await estimate("/v1/convert/estimate/pdf/png?pages=10")).body.creditCost).toBe(1);
    expect((await estimate("/v1/convert/estimate/pdf/png?pages=2000")).body.maxPages).toBe(2000);
  });

  it("refuses what submission refuses, with submission's codes", async () => {
    const tooLong = await estimate("/v1/convert/estimate/pdf/png?pages=2001");
    expect(tooLong.status).toBe(422);
    expect(tooLong.body).toMatchObject({ error: "convert.too_many_pages", pages: 2001, maxPages: 2000 });
    const tooBig = await estimate(`/v1/convert/estimate/docx/pdf?bytes=${64 * 1024 * 1024 + 1}`);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toMatchObject({ error: "convert.file_too_large", maxFileSizeBytes: 64 * 1024 * 1024 });
    // pdfa is an option of PDF outputs: an image with it is refused, by the estimate as by a submission.
    const pdfaImage = await estimate("/v1/convert/estimate/pdf/png?pages=1&pdfa=2b");
    expect(pdfaImage.status).toBe(400);
    expect(pdfaImage.body).toMatchObject({ error: "convert.invalid_option", option: "pdfa", targetFormat: "png" });
    const account = await seedAccount();
    const submitted = await submit(account, {
      file: { name: "paper.pdf", bytes: fixture("pdf-raw-text.pdf") },
      targetFormat: "png",
      pdfa: "2b",
    });
    expect(submitted.status).toBe(400);
    expect(pdfaImage.body).toEqual(submitted.body);
  });

  it("prices decks by slides: 200 slides at 1 per 10 slides is 20 credits", async () => {
    const { body } = await estimate("/v1/convert/estimate/pptx/pdf?pages=200&bytes=1000");
    expect(body.costing).toMatchObject({
      strategy: "PerPage",
      incrementUnit: "slides",
      displaySuffix: "per 10 slides",
    });
    expect(body).toMatchObject({ unit: "slides", increments: 20, creditCost: 20 });
  });

  it("says what it assumed when PerPage is asked without pages: one increment", async () => {
    const { body } = await estimate("/v1/convert/estimate/odp/pdf");
    expect(body.inputs).toMatchObject({ pages: 10, pagesSource: "assumed" });
    expect(body.assumptions).toEqual([expect.stringContaining("no `pages` given: 10 slides assumed")]);
    expect(body.creditCost).toBe(1);
  });

  it("prices PerMegabyte by started increments of megabytes, whatever pages are claimed", async () => {
    const { body } = await estimate(`/v1/convert/estimate/docx/pdf?bytes=${5 * 1024 * 1024 + 1}&pages=276`);
    expect(body.costing).toMatchObject({ strategy: "PerMegabyte", increment: 5, incrementUnit: "mb" });
    expect(body.inputs).toMatchObject({ bytesSource: "given", pages: null, pagesSource: null });
    expect(body.increments).toBe(2);
    expect(body.creditCost).toBe(2 * body.costing.baseCost);
    expect(body.maxPages).toBeNull();
    expect((await estimate("/v1/convert/estimate/xlsx/pdf?bytes=10")).body.creditCost).toBe(body.costing.baseCost);
    const assumed = (await estimate("/v1/convert/estimate/docx/txt")).body;
    expect(assumed.inputs).toMatchObject({ bytes: 0, bytesSource: "assumed" });
    expect(assumed.assumptions).toEqual([expect.stringContaining("no `bytes` given")]);
    expect(assumed.creditCost).toBe(1);
  });

  it("applies the PDF/A variant", async () => {
    const plain = (await estimate("/v1/convert/estimate/docx/pdf?bytes=1")).body;
    const pdfa = (await estimate("/v1/convert/estimate/docx/pdf?bytes=1&pdfa=2b")).body;
    expect(pdfa.inputs.variant).toBe("pdfa");
    expect(pdfa.creditCost).toBe(plain.costing.costVariants.pdfa.baseCost);
    expect(pdfa.creditCost).toBeGreaterThan(plain.creditCost);
  });

  it("refuses an unsupported pair with the supported targets", async () => {
    const { status, body } = await estimate("/v1/convert/estimate/docx/mp4");
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: "convert.unsupported_format_pair", sourceFormat: "docx", targetFormat: "mp4" });
    expect(body.supportedTargets).toContain("pdf");
  });
});
