// Who the caller is and what they can see. A key acts for one account: its user (personal scope) or a
// workspace (workspace scope). Files, jobs and webhooks belong to one account; anything of another
// account is reported as not found, never forbidden, so existence does not leak.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { findApiKeyByHash } from "../db/api-keys";
import { ApiError } from "../errors";
import { digestsEqual, hashApiKey, KEY_PATTERN, readApiKey } from "./api-keys";

export interface Caller {
  apiKeyId: string;
  scope: "personal" | "workspace";
  userId: string;
  accountId: string;
}

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const key = readApiKey(c.req.raw.headers);
  if (!key) throw new ApiError("auth.missing_key", "send your API key in X-API-Key or Authorization: Bearer");
  if (!KEY_PATTERN.test(key)) throw new ApiError("auth.invalid_key", "the API key is not valid");
  const hash = await hashApiKey(key);
  const row = await findApiKeyByHash(c.env.DB, hash);
  if (!row || !digestsEqual(row.hash, hash)) throw new ApiError("auth.invalid_key", "the API key is not valid");
  if (row.revokedAt !== null) throw new ApiError("auth.revoked_key", "the API key has been revoked");
  c.set("caller", { apiKeyId: row.id, scope: row.scope, userId: row.userId, accountId: row.accountId });
  await next();
});

/** The row if the caller's account owns it, else a not-found error of the given area. */
export function ownedOr404<T extends { accountId: string }>(
  row: T | undefined | null,
  caller: Caller,
  code: "files.not_found" | "jobs.not_found" | "runs.not_found" | "webhooks.not_found" | "deliveries.not_found",
  what: string,
): T {
  if (!row || row.accountId !== caller.accountId) throw new ApiError(code, `${what} not found`);
  return row;
}
