// The catalog and cost estimates: public, no key needed, cacheable at the edge.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { sha256Hex } from "../digests";
import { buildCatalog, estimateFor } from "../domain/catalog";
import { CATEGORIES } from "../domain/matrix";
import { DEFAULT_MAX_FILE_SIZE_BYTES, maxFileSizeBytes } from "../domain/uploads";
import { validationHook } from "../errors";
import { errorResponses } from "../schemas";

const CostVariantSchema = z.object({ description: z.string(), baseCost: z.number().int(), displaySuffix: z.string() });

const CostingInfoSchema = z
  .object({
    strategy: z.enum(["Fixed", "PerMegabyte", "PerPage", "PerMinute"]).openapi({
      description:
        "docconv prices PerPage (where the page or slide count is exact from the file's structure) or PerMegabyte",
    }),
    baseCost: z.number().int(),
    increment: z
      .number()
      .nullable()
      .openapi({ description: "pages, slides or MB per baseCost; null for Fixed", example: 10 }),
    incrementUnit: z.enum(["pages", "slides", "mb"]).nullable().openapi({ example: "pages" }),
    displaySuffix: z.string().openapi({ example: "per 10 pages" }),
    costVariants: z
      .record(z.string(), CostVariantSchema)
      .nullable()
      .openapi({
        description:
          "pricing modes keyed by variant (`pdfa`: PDF/A output, chosen by the `pdfa` option); null when there are none",
        example: {
          pdfa: { description: "PDF/A archival output (the pdfa option)", baseCost: 2, displaySuffix: "per 10 pages" },
        },
      }),
  })
  .openapi("CostingInfo", {
    description: "credits = ceil(quantity / increment) × baseCost (Fixed: baseCost); a variant replaces baseCost",
    example: {
      strategy: "PerPage",
      baseCost: 1,
      increment: 10,
      incrementUnit: "pages",
      displaySuffix: "per 10 pages",
      costVariants: null,
    },
  });

const Category = z.enum(Object.keys(CATEGORIES) as [keyof typeof CATEGORIES, ...(keyof typeof CATEGORIES)[]]).openapi({
  description:
    "the source's kind (documents, spreadsheets, presentations, drawings, images); any source rendered to png or jpg is `images`",
});
const Limits = {
  maxFileSizeBytes: z.number().int(),
  maxConcurrentJobs: z.number().int(),
  maxPages: z
    .number()
    .int()
    .nullable()
    .openapi({ description: "PerPage conversions: the most pages or slides a document may have; null for the others" }),
  maxDurationMinutes: z.number().int().nullable().openapi({ description: "PerMinute conversions only; null here" }),
};

const ConversionEdgeSchema = z
  .object({
    sourceFormat: z.string(),
    targetFormat: z.string(),
    job: z.string().openapi({ example: "image.pdf-to-png" }),
    endpoint: z.string().nullable(),
    category: Category,
    costing: CostingInfoSchema,
    ...Limits,
  })
  .openapi("ConversionEdge");

const ConversionItemSchema = z
  .object({
    job: z.string().openapi({ example: "image.pdf-to-png" }),
    category: Category,
    costing: CostingInfoSchema,
    endpoint: z.string().nullable(),
    inputFormats: z.array(z.string()),
    outputFormats: z.array(z.string()),
    ...Limits,
    maxBatchSizeBytes: z.number().int(),
  })
  .openapi("ConversionItem");

export const CatalogSchema = z
  .object({
    conversions: z.array(ConversionItemSchema),
    sourceFormatTo: z.record(z.string(), z.array(ConversionEdgeSchema)),
    maxFileSizeBytes: z.number().int(),
    maxConcurrentJobs: z.number().int(),
    maxBatchFiles: z.number().int(),
  })
  .openapi("ConversionCatalog");

export const EstimateSchema = z
  .object({
    sourceFormat: z.string(),
    targetFormat: z.string(),
    job: z.string(),
    category: Category,
    costing: CostingInfoSchema,
    inputs: z.object({
      bytes: z.number().int(),
      bytesSource: z.enum(["given", "assumed"]),
      pages: z
        .number()
        .int()
        .nullable()
        .openapi({ description: "PerPage: the pages or slides priced; null for other strategies" }),
      pagesSource: z.enum(["given", "assumed"]).nullable(),
      variant: z.string().nullable(),
    }),
    assumptions: z.array(z.string()).openapi({
      description: "what the estimate assumed for inputs it needs and was not given",
      example: ["no `pages` given: 10 pages assumed (one increment)"],
    }),
    quantity: z.number().openapi({ description: "in `unit`s: pages, slides or megabytes" }),
    unit: z.string(),
    increments: z.number().int(),
    creditCost: z.number().int(),
    maxPages: z.number().int().nullable().openapi({ description: "PerPage: the most pages the conversion may have" }),
  })
  .openapi("CostEstimate");

/** The real catalog cut down to one page-priced and one megabyte-priced conversion, for the docs. */
function catalogExample() {
  const full = buildCatalog(DEFAULT_MAX_FILE_SIZE_BYTES);
  const picked = ["image.pdf-to-png", "document.docx-to-pdf"];
  return {
    ...full,
    conversions: full.conversions.filter((c) => picked.includes(c.job)),
    sourceFormatTo: {
      pdf: full.sourceFormatTo.pdf!.filter((e) => e.targetFormat === "png"),
      docx: full.sourceFormatTo.docx!.filter((e) => e.targetFormat === "pdf"),
    },
  };
}

const catalogRoute = createRoute({
  method: "get",
  path: "/v1/convert/conversions",
  tags: ["Catalog"],
  summary: "Every supported conversion with its price and limits",
  description:
    "Derived from the converter's format matrix and the pricing table. Public and cacheable (ETag, Cache-Control).",
  responses: {
    200: {
      description: "the catalog",
      content: { "application/json": { schema: CatalogSchema, example: catalogExample() } },
    },
    304: { description: "not modified (If-None-Match)" },
    ...errorResponses(),
  },
});

const estimateRoute = createRoute({
  method: "get",
  path: "/v1/convert/estimate/{from}/{to}",
  tags: ["Catalog"],
  summary: "What a conversion would cost",
  description:
    "The server-side calculation, showing its inputs. PerPage conversions (sources whose page or slide count is exact from their structure: pdf, pptx, odp) need `pages`; PerMegabyte ones need `bytes`. A missing input is assumed — `pages`: one increment, as submission charges a file whose count could not be read; `bytes`: 0, i.e. one increment — and `assumptions` says so. It runs submission's own checks on the inputs, so it refuses what submission would refuse, with the same codes: an unsupported pair (400 `convert.unsupported_format_pair`), an option the target does not take (400 `convert.invalid_option`, e.g. `pdfa` for png), `bytes` over MAX_FILE_SIZE_BYTES (413 `convert.file_too_large`), `pages` over the page limit on a PerPage conversion (422 `convert.too_many_pages`).",
  request: {
    params: z.object({ from: z.string().openapi({ example: "docx" }), to: z.string().openapi({ example: "pdf" }) }),
    query: z.object({
      bytes: z.coerce.number().int().min(0).optional().openapi({ example: 250000 }),
      pages: z.coerce.number().int().min(1).optional().openapi({ example: 12 }),
      pdfa: z.enum(["1b", "2b", "3b"]).optional(),
    }),
  },
  responses: {
    200: {
      description: "the estimate",
      content: {
        "application/json": {
          schema: EstimateSchema,
          examples: {
            perPage: {
              summary: "pdf → png, 12 pages",
              value: estimateFor("pdf", "png", { pages: 12 }, DEFAULT_MAX_FILE_SIZE_BYTES),
            },
            perMegabyte: {
              summary: "docx → pdf, 12 MB, PDF/A",
              value: estimateFor("docx", "pdf", { bytes: 12_000_000, pdfa: "2b" }, DEFAULT_MAX_FILE_SIZE_BYTES),
            },
          },
        },
      },
    },
    304: { description: "not modified (If-None-Match)" },
    ...errorResponses(400, 413, 422),
  },
});

const CACHE_CONTROL = "public, max-age=300, s-maxage=3600";

/** The body with an ETag of its JSON; a matching If-None-Match is answered 304 without it. */
async function cachedJson<T>(c: Context<AppEnv>, body: T) {
  const etag = `"${(await sha256Hex(JSON.stringify(body))).slice(0, 32)}"`;
  const headers = { ETag: etag, "Cache-Control": CACHE_CONTROL, Vary: "Accept-Encoding" };
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
  return c.json(body, 200, headers);
}

export const catalogRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(catalogRoute, (c) => cachedJson(c, buildCatalog(maxFileSizeBytes(c.env))))
  .openapi(estimateRoute, (c) => {
    const { from, to } = c.req.valid("param");
    return cachedJson(c, estimateFor(from, to, c.req.valid("query"), maxFileSizeBytes(c.env)));
  });
