// GET /v1/converter: the converter's state for a caller with an API key — each container's state and, for
// those already running, their converter's instances and queue. Starts nothing (src/converter/status.ts).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { converterStatus } from "../converter/status";
import { validationHook } from "../errors";
import { apiKeySecurity, errorResponses } from "../schemas";

export const ConverterStatusSchema = z
  .object({
    transport: z
      .enum(["url", "container"])
      .openapi({ description: "`container` in production; `url`: a local converter process (CONVERTER_URL)" }),
    running: z.number().int().openapi({ description: "containers (or the local process) running now" }),
    containers: z.array(
      z.object({
        name: z.string().openapi({ example: "converter-0" }),
        status: z.string().openapi({
          description: "stopped, running (starting), healthy, stopping or stopped_with_code",
          example: "healthy",
        }),
        since: z.string().nullable().openapi({ description: "when the status last changed" }),
        converter: z.unknown().openapi({
          description:
            "the converter's own /health (instances ready/busy/starting, queued, counters); null when not running",
        }),
      }),
    ),
  })
  .openapi("ConverterStatus");

const route = createRoute({
  method: "get",
  path: "/v1/converter",
  tags: ["Health"],
  summary: "The converter's state (containers, LibreOffice instances, queue)",
  description:
    "Asks every named container for its state without starting any; only running ones are asked for their converter's instances and queue.",
  security: apiKeySecurity,
  responses: {
    200: { description: "the converter's state", content: { "application/json": { schema: ConverterStatusSchema } } },
    ...errorResponses(401),
  },
});

export const converterRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(route, async (c) =>
  c.json(await converterStatus(c.env), 200),
);
