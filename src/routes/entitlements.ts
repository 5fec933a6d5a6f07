// GET /v1/convert/entitlements/me: the key's plan, balance and daily allowance.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { entitlementsOf } from "../domain/accounts";
import { validationHook } from "../errors";
import { apiKeySecurity, errorResponses } from "../schemas";

export const EntitlementsSchema = z
  .object({
    userId: z.string(),
    organizationId: z.string().nullable().openapi({ description: "the workspace, for a workspace key" }),
    planId: z.enum(["free", "pro"]),
    planName: z.string(),
    accessDisplayName: z.string(),
    totalCredits: z.number().int().openapi({ description: "the balance" }),
    tier: z
      .enum(["free", "pro"])
      .openapi({ description: 'the plan\'s tier, as seed 003 names it ("pro" for API users on Pro)', example: "pro" }),
    dailyLimit: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "credits a UTC day (free plan); null: no daily limit" }),
    dailyUsed: z.number().int().nullable(),
    resetDate: z.string().nullable().openapi({ description: "next UTC midnight, when dailyUsed resets" }),
    maxConcurrentJobs: z.number().int(),
  })
  .openapi("Entitlements");

const route = createRoute({
  method: "get",
  path: "/v1/convert/entitlements/me",
  tags: ["Account"],
  summary: "The key's plan, credits and limits",
  security: apiKeySecurity,
  responses: {
    200: { description: "entitlements", content: { "application/json": { schema: EntitlementsSchema } } },
    ...errorResponses(401),
  },
});

export const entitlementsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(route, async (c) =>
  c.json(await entitlementsOf(c.var.svc, c.var.caller), 200),
);
