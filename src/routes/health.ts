// GET /health: public and cheap — the Worker answers and D1 serves a trivial read. It never reaches a
// converter (asking a container would wake or start it); the converter's state is GET /v1/converter.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { databaseAnswers } from "../domain/services";
import { errorResponses } from "../schemas";

export const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    api: z.literal("ok"),
    database: z.enum(["ok", "unavailable"]),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["Health"],
  summary: "Liveness of the API and its database",
  description:
    "Public. Never wakes or starts a converter container: for the converter's state, see `GET /v1/converter`.",
  responses: {
    200: { description: "the API and D1 answer", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "D1 does not answer", content: { "application/json": { schema: HealthSchema } } },
    ...errorResponses(),
  },
});

export const healthRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const database = await databaseAnswers(c.var.svc);
  return database
    ? c.json({ status: "ok" as const, api: "ok" as const, database: "ok" as const }, 200)
    : c.json({ status: "degraded" as const, api: "ok" as const, database: "unavailable" as const }, 503);
});
