// An account's plan and what it allows now: the balance, the day's use of the daily limit.
import type { Caller } from "../auth/scope";
import { getAccount } from "../db/accounts";
import { nextUtcMidnight, PLANS, type PlanId, utcDay } from "./plans";
import type { Services } from "./services";

export async function planOf(svc: Services, accountId: string): Promise<PlanId> {
  return (await getAccount(svc.db, accountId)).planId;
}

/** Seed 003's entitlements: the plan, the balance, and the daily allowance where the plan has one. */
export async function entitlementsOf(svc: Services, caller: Caller) {
  const account = await getAccount(svc.db, caller.accountId);
  const plan = PLANS[account.planId];
  const daily = account.dailyLimit !== null;
  return {
    userId: caller.userId,
    organizationId: caller.scope === "workspace" ? caller.accountId : null,
    planId: plan.id,
    planName: plan.name,
    accessDisplayName: plan.accessDisplayName,
    totalCredits: account.credits,
    tier: plan.tier,
    dailyLimit: daily ? account.dailyLimit : null,
    // The day's use counts from UTC midnight: a row last written on an earlier day has used nothing today.
    dailyUsed: daily ? (account.dailyDay === utcDay() ? account.dailyUsed : 0) : null,
    resetDate: daily ? nextUtcMidnight() : null,
    maxConcurrentJobs: plan.maxConcurrentJobs,
  };
}
