// Plans and the limits that follow from them.

export type PlanId = "free" | "pro";

export interface Plan {
  id: PlanId;
  name: string;
  accessDisplayName: string;
  /** Seed 003's `tier`: "free" or "pro". */
  tier: PlanId;
  dailyLimit: number | null; // credits a UTC day; null: no daily limit
  maxConcurrentJobs: number;
  signupCredits: number;
}

export const PLANS: Record<PlanId, Plan> = {
  free: {
    id: "free",
    name: "Free",
    accessDisplayName: "Free plan",
    tier: "free",
    dailyLimit: 100,
    maxConcurrentJobs: 10,
    signupCredits: 100,
  },
  pro: {
    id: "pro",
    name: "Pro",
    accessDisplayName: "Pro plan",
    tier: "pro",
    dailyLimit: null,
    maxConcurrentJobs: 50,
    signupCredits: 10000,
  },
};

// A full batch fits within the free plan's concurrent-job limit.
export const MAX_BATCH_FILES = 10;
// Pages or slides a conversion may have, on every plan: checked at submission where the count is exact, and
// by the converter on the real count (maxPages) for every conversion.
export const MAX_PAGES = 2000;

export function utcDay(now = Date.now()): string {
  return new Date(now).toISOString().slice(0, 10);
}

export function nextUtcMidnight(now = Date.now()): string {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)).toISOString();
}
