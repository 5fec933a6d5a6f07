// GET /health: 200 only when the API and the converter both answer.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { converterFor } from "../converter/client";
import { errorResponses } from "../schemas";

const Health = z.object({ status: z.enum(["ok", "degraded"]), api: z.literal("ok"), converter: z.unknown() }).openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["Health"],
  summary: "Liveness of the API and the converter",
  responses: {
    200: { description: "all up", content: { "application/json": { schema: Health } } },
    503: { description: "the converter is down", content: { "application/json": { schema: Health } } },
    ...errorResponses(),
  },
});

export const healthRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const converter = await converterFor(c.env).health();
  return converter.ok
    ? c.json({ status: "ok" as const, api: "ok" as const, converter: converter.detail }, 200)
    : c.json({ status: "degraded" as const, api: "ok" as const, converter: converter.detail }, 503);
});
