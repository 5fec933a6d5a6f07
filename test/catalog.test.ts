import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sources } from "../container/src/formats";
import { BASE } from "./harness";

const get = (path: string, headers: Record<string, string> = {}) => exports.default.fetch(new Request(`${BASE}${path}`, { headers }));

describe("GET /v1/convert/conversions", () => {
  it("lists every pair of the converter's matrix with the contract's fields", async () => {
    const res = await get("/v1/convert/conversions");
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(Object.keys(body).sort()).toEqual(["conversions", "maxBatchFiles", "maxConcurrentJobs", "maxFileSizeBytes", "sourceFormatTo"]);
    const pairs = Object.entries(sources).flatMap(([s, f]) => f.targets.map((t) => `${s}->${t}`));
    expect(body.conversions).toHaveLength(pairs.length);
    expect(Object.keys(body.sourceFormatTo).sort()).toEqual(Object.keys(sources).sort());
    const item = body.conversions.find((c: any) => c.job === "document.docx-to-pdf");
    expect(Object.keys(item).sort()).toEqual(
      ["category", "costing", "endpoint", "inputFormats", "job", "maxBatchSizeBytes", "maxConcurrentJobs", "maxDurationMinutes", "maxFileSizeBytes", "maxPages", "outputFormats"].sort(),
    );
    expect(item).toMatchObject({ category: "documents", endpoint: "/v1/convert", inputFormats: ["docx"], outputFormats: ["pdf"] });
    expect(Object.keys(item.costing).sort()).toEqual(["baseCost", "costVariants", "displaySuffix", "increment", "incrementUnit", "strategy"]);
    const edge = body.sourceFormatTo.xlsx.find((e: any) => e.targetFormat === "csv");
    expect(Object.keys(edge).sort()).toEqual(
      ["category", "costing", "endpoint", "job", "maxConcurrentJobs", "maxDurationMinutes", "maxFileSizeBytes", "maxPages", "sourceFormat", "targetFormat"].sort(),
    );
    expect(edge).toMatchObject({ sourceFormat: "xlsx", targetFormat: "csv", job: "spreadsheet.xlsx-to-csv", category: "spreadsheets" });
    expect(body.sourceFormatTo.pptx.find((e: any) => e.targetFormat === "png").category).toBe("images");
    const categories = new Set(body.conversions.map((c: any) => c.category));
    expect([...categories].sort()).toEqual(["documents", "images", "presentations", "spreadsheets"]);
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

  it("prices Fixed conversions at the base cost", async () => {
    const { body } = await estimate("/v1/convert/estimate/docx/txt?bytes=5000000");
    expect(body.costing.strategy).toBe("Fixed");
    expect(body.creditCost).toBe(body.costing.baseCost);
  });

  it("prices PerPage by started increments of pages", async () => {
    const { body } = await estimate("/v1/convert/estimate/docx/pdf?bytes=1000&pages=11");
    expect(body.costing).toMatchObject({ strategy: "PerPage", increment: 10, baseCost: 1 });
    expect(body.inputs).toMatchObject({ pages: 11, pagesSource: "given" });
    expect(body.increments).toBe(2);
    expect(body.creditCost).toBe(2);
    expect((await estimate("/v1/convert/estimate/docx/pdf?bytes=1000&pages=10")).body.creditCost).toBe(1);
  });

  it("counts pages from the size when none are given", async () => {
    const { body } = await estimate(`/v1/convert/estimate/docx/pdf?bytes=${100 * 1024 * 25 + 1}`);
    expect(body.inputs).toMatchObject({ pages: 26, pagesSource: "estimated" });
    expect(body.creditCost).toBe(3);
  });

  it("prices PerMegabyte by started increments of megabytes", async () => {
    const { body } = await estimate(`/v1/convert/estimate/xlsx/pdf?bytes=${5 * 1024 * 1024 + 1}`);
    expect(body.costing).toMatchObject({ strategy: "PerMegabyte", increment: 5 });
    expect(body.increments).toBe(2);
    expect(body.creditCost).toBe(2 * body.costing.baseCost);
    expect((await estimate("/v1/convert/estimate/xlsx/pdf?bytes=10")).body.creditCost).toBe(body.costing.baseCost);
  });

  it("prices PerMinute by estimated render minutes", async () => {
    const { body } = await estimate("/v1/convert/estimate/pptx/png?bytes=1000&pages=31");
    expect(body.costing).toMatchObject({ strategy: "PerMinute", incrementUnit: "minute", increment: 1 });
    // 31 pages × 2 s = 62 s → 2 started minutes
    expect(body.increments).toBe(2);
    expect(body.creditCost).toBe(2 * body.costing.baseCost);
  });

  it("applies the PDF/A variant", async () => {
    const plain = (await estimate("/v1/convert/estimate/docx/pdf?pages=1")).body;
    const pdfa = (await estimate("/v1/convert/estimate/docx/pdf?pages=1&pdfa=2b")).body;
    expect(pdfa.inputs.variant).toBe("pdfa");
    expect(pdfa.creditCost).toBeGreaterThan(plain.creditCost);
  });

  it("refuses an unsupported pair with the supported targets", async () => {
    const { status, body } = await estimate("/v1/convert/estimate/docx/mp4");
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: "convert.unsupported_format_pair", sourceFormat: "docx", targetFormat: "mp4" });
    expect(body.supportedTargets).toContain("pdf");
  });
});
