// The catalog and cost estimates: public, no key needed, cacheable at the edge.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { toHex } from "../auth/api-keys";
import { validationHook } from "../errors";
import { buildCatalog, JOBS_ENDPOINT } from "../domain/catalog";
import { normalizeFormat } from "../domain/conversions";
import { assertConvertible, categoryOf, jobName } from "../domain/formats";
import { costingFor, quote } from "../domain/pricing";
import { maxFileSizeBytes } from "../domain/uploads";
import { errorResponses } from "../schemas";

const CostingInfoSchema = z
  .object({
    strategy: z.enum(["Fixed", "PerMegabyte", "PerPage", "PerMinute"]),
    baseCost: z.number().int(),
    increment: z.number(),
    incrementUnit: z.enum(["conversion", "megabyte", "page", "minute"]),
    displaySuffix: z.string().openapi({ example: "per 10 pages" }),
    costVariants: z.array(z.object({ variant: z.string(), description: z.string(), baseCost: z.number().int() })),
  })
  .openapi("CostingInfo", { description: "credits = ceil(quantity / increment) × baseCost; Fixed: baseCost" });

const Category = z.enum(["documents", "spreadsheets", "presentations", "images"]);
const Limits = {
  maxFileSizeBytes: z.number().int(),
  maxConcurrentJobs: z.number().int(),
  maxPages: z.number().int(),
  maxDurationMinutes: z.number().int(),
};

const ConversionEdgeSchema = z
  .object({ sourceFormat: z.string(), targetFormat: z.string(), job: z.string().openapi({ example: "document.docx-to-pdf" }), endpoint: z.string(), category: Category, costing: CostingInfoSchema, ...Limits })
  .openapi("ConversionEdge");

const ConversionItemSchema = z
  .object({
    job: z.string().openapi({ example: "document.docx-to-pdf" }),
    category: Category,
    costing: CostingInfoSchema,
    endpoint: z.string(),
    inputFormats: z.array(z.string()),
    outputFormats: z.array(z.string()),
    ...Limits,
    maxBatchSizeBytes: z.number().int(),
  })
  .openapi("ConversionItem");

const CatalogSchema = z
  .object({
    conversions: z.array(ConversionItemSchema),
    sourceFormatTo: z.record(z.string(), z.array(ConversionEdgeSchema)),
    maxFileSizeBytes: z.number().int(),
    maxConcurrentJobs: z.number().int(),
    maxBatchFiles: z.number().int(),
  })
  .openapi("ConversionCatalog");

const EstimateSchema = z
  .object({
    sourceFormat: z.string(),
    targetFormat: z.string(),
    job: z.string(),
    category: Category,
    costing: CostingInfoSchema,
    inputs: z.object({
      bytes: z.number().int(),
      pages: z.number().int().openapi({ description: "pages used for costing" }),
      pagesSource: z.enum(["given", "estimated"]).openapi({ description: "`estimated`: no pages given, counted as one page per 100 KiB" }),
      variant: z.string().nullable(),
    }),
    quantity: z.number().openapi({ description: "in `unit`s: megabytes, pages or minutes of rendering" }),
    unit: z.string(),
    increments: z.number().int(),
    creditCost: z.number().int(),
  })
  .openapi("CostEstimate");

const catalogRoute = createRoute({
  method: "get",
  path: "/v1/convert/conversions",
  tags: ["Catalog"],
  summary: "Every supported conversion with its price and limits",
  description: "Derived from the converter's format matrix and the pricing table. Public and cacheable (ETag, Cache-Control).",
  responses: {
    200: { description: "the catalog", content: { "application/json": { schema: CatalogSchema } } },
    304: { description: "not modified (If-None-Match)" },
    ...errorResponses(),
  },
});

const estimateRoute = createRoute({
  method: "get",
  path: "/v1/convert/estimate/{from}/{to}",
  tags: ["Catalog"],
  summary: "What a conversion would cost",
  description: "The server-side calculation, showing its inputs. Without `pages`, page-priced conversions count one page per 100 KiB, as submission does when a document's metadata has no page count.",
  request: {
    params: z.object({ from: z.string().openapi({ example: "docx" }), to: z.string().openapi({ example: "pdf" }) }),
    query: z.object({
      bytes: z.coerce.number().int().min(0).default(0).openapi({ example: 250000 }),
      pages: z.coerce.number().int().min(1).optional().openapi({ example: 12 }),
      pdfa: z.enum(["1b", "2b", "3b"]).optional(),
    }),
  },
  responses: {
    200: { description: "the estimate", content: { "application/json": { schema: EstimateSchema } } },
    ...errorResponses(400),
  },
});

const CACHE_CONTROL = "public, max-age=300, s-maxage=3600";

async function cachedJson(c: Context<AppEnv>, body: unknown): Promise<Response> {
  const text = JSON.stringify(body);
  const etag = `"${toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))).slice(0, 32)}"`;
  const headers = { ETag: etag, "Cache-Control": CACHE_CONTROL, Vary: "Accept-Encoding" };
  if (c.req.header("if-none-match") === etag) return new Response(null, { status: 304, headers });
  return new Response(text, { status: 200, headers: { ...headers, "Content-Type": "application/json" } });
}

export const catalogRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(catalogRoute, async (c) => (await cachedJson(c, buildCatalog(maxFileSizeBytes(c.env)))) as never)
  .openapi(estimateRoute, async (c) => {
    const { from, to } = c.req.valid("param");
    const q = c.req.valid("query");
    const source = normalizeFormat(from);
    const target = normalizeFormat(to);
    assertConvertible(source, target);
    const category = categoryOf(source, target);
    const costing = costingFor(category, target);
    const result = quote(costing, { bytes: q.bytes, pages: q.pages ?? null, options: { pdfa: q.pdfa } });
    const estimate = {
      sourceFormat: source,
      targetFormat: target,
      job: jobName(source, target),
      category,
      costing,
      inputs: { bytes: q.bytes, pages: result.pages, pagesSource: q.pages ? ("given" as const) : ("estimated" as const), variant: result.variant },
      quantity: result.quantity,
      unit: result.unit,
      increments: result.increments,
      creditCost: result.credits,
    };
    return (await cachedJson(c, estimate)) as never;
  });


