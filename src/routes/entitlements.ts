// GET /v1/convert/entitlements/me: the key's plan, balance and daily allowance.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { getAccount } from "../db/accounts";
import { validationHook } from "../errors";
import { nextUtcMidnight, PLANS, utcDay } from "../domain/plans";
import { apiKeySecurity, errorResponses } from "../schemas";

const EntitlementsSchema = z
  .object({
    userId: z.string(),
    organizationId: z.string().nullable().openapi({ description: "the workspace, for a workspace key" }),
    planId: z.enum(["free", "pro"]),
    planName: z.string(),
    accessDisplayName: z.string(),
    totalCredits: z.number().int().openapi({ description: "the balance" }),
    tier: z.enum(["free", "pro"]).openapi({ description: "the plan's tier, as seed 003 names it (\"pro\" for API users on Pro)", example: "pro" }),
    dailyLimit: z.number().int().nullable().openapi({ description: "credits a UTC day (free plan); null: no daily limit" }),
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

export const entitlementsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(route, async (c) => {
  const caller = c.var.caller;
  const account = await getAccount(c.var.db, caller.accountId);
  const plan = PLANS[account.planId];
  const daily = account.dailyLimit !== null;
  return c.json(
    {
      userId: caller.userId,
      organizationId: caller.scope === "workspace" ? caller.accountId : null,
      planId: plan.id,
      planName: plan.name,
      accessDisplayName: plan.accessDisplayName,
      totalCredits: account.credits,
      tier: plan.tier,
      dailyLimit: daily ? account.dailyLimit : null,
      dailyUsed: daily ? (account.dailyDay === utcDay() ? account.dailyUsed : 0) : null,
      resetDate: daily ? nextUtcMidnight() : null,
      maxConcurrentJobs: plan.maxConcurrentJobs,
    },
    200,
  );
});
