// SQL that creates (or reuses) an account and adds an API key to it. Shared by `npm run key` (through
// wrangler d1 execute) and the test harness (through the D1 binding), so both make accounts the same way.
// Imports carry their .ts extension: scripts run this file with Node's type stripping.
import { sha256Hex } from "../digests.ts";
import { PLANS } from "../domain/plans.ts";

export interface ProvisionInput {
  userName: string;
  workspaceName?: string;
  plan?: "free" | "pro";
  credits?: number; // added to the balance as a grant; a new account otherwise gets its plan's signup credits
  keyId: string;
  keyHash: string;
  keyPrefix: string;
  userId: string;
  workspaceId?: string;
  now: number;
}

const SIGNUP_CREDITS = { free: PLANS.free.signupCredits, pro: PLANS.pro.signupCredits };
const DAILY_LIMITS = { free: PLANS.free.dailyLimit, pro: PLANS.pro.dailyLimit };

const q = (v: string | number | null) =>
  v === null ? "NULL" : typeof v === "number" ? String(v) : `'${v.replace(/'/g, "''")}'`;

export function provisionStatements(p: ProvisionInput): string[] {
  const accountId = p.workspaceId ?? p.userId;
  const plan = p.plan ?? "free";
  const out = [
    `INSERT OR IGNORE INTO accounts (id, kind, name, plan_id, credits, daily_limit, daily_used, daily_day, created_at) VALUES (${q(p.userId)}, 'user', ${q(p.userName)}, ${q(plan)}, 0, ${q(DAILY_LIMITS[plan])}, 0, '', ${p.now})`,
  ];
  if (p.workspaceId) {
    out.push(
      `INSERT OR IGNORE INTO accounts (id, kind, name, plan_id, credits, daily_limit, daily_used, daily_day, created_at) VALUES (${q(p.workspaceId)}, 'workspace', ${q(p.workspaceName ?? p.workspaceId)}, ${q(plan)}, 0, ${q(DAILY_LIMITS[plan])}, 0, '', ${p.now})`,
      `INSERT OR IGNORE INTO memberships (user_id, workspace_id, role, created_at) VALUES (${q(p.userId)}, ${q(p.workspaceId)}, 'owner', ${p.now})`,
    );
  }
  if (p.plan)
    out.push(
      `UPDATE accounts SET plan_id = ${q(plan)}, daily_limit = ${q(DAILY_LIMITS[plan])} WHERE id = ${q(accountId)}`,
    );
  // The signup grant happens once per account; --credits adds a further grant each time.
  out.push(
    `INSERT OR IGNORE INTO credit_ledger (id, account_id, delta, reason, job_id, created_at) VALUES (${q(`led_signup_${accountId}`)}, ${q(accountId)}, ${p.credits ?? SIGNUP_CREDITS[plan]}, 'grant', NULL, ${p.now})`,
  );
  if (p.credits !== undefined) {
    out.push(
      `INSERT INTO credit_ledger (id, account_id, delta, reason, job_id, created_at) SELECT ${q(`led_grant_${p.keyId}`)}, ${q(accountId)}, ${p.credits}, 'grant', NULL, ${p.now} WHERE EXISTS (SELECT 1 FROM credit_ledger WHERE id = ${q(`led_signup_${accountId}`)} AND created_at < ${p.now})`,
    );
  }
  // The balance is the ledger's sum, always.
  out.push(
    `UPDATE accounts SET credits = (SELECT COALESCE(SUM(delta), 0) FROM credit_ledger WHERE account_id = ${q(accountId)}) WHERE id = ${q(accountId)}`,
  );
  out.push(
    `INSERT INTO api_keys (id, hash, prefix, scope, user_id, account_id, name, created_at) VALUES (${q(p.keyId)}, ${q(p.keyHash)}, ${q(p.keyPrefix)}, ${q(p.workspaceId ? "workspace" : "personal")}, ${q(p.userId)}, ${q(accountId)}, NULL, ${p.now})`,
  );
  return out;
}

/** Stable ids from names, so running the command again reuses the same account. */
export async function accountIdFor(kind: "usr" | "wks", name: string): Promise<string> {
  return `${kind}_${(await sha256Hex(`${kind}:${name}`)).slice(0, 20)}`;
}
