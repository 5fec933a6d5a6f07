// API keys, looked up by their hash on every authenticated request.
import type { D1 } from "./client";
import type { apiKeys } from "./schema";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * The key with this hash, if any. A raw prepared statement: this runs on every request, cache hits included, and
 * drizzle's relational query builder measured 0.4–1 ms of CPU a call here (bench/README.md, renditions).
 */
export function findApiKeyByHash(d1: D1, hash: string) {
  return d1
    .prepare(
      `SELECT id, hash, scope, user_id AS userId, account_id AS accountId, revoked_at AS revokedAt FROM api_keys WHERE hash = ?1`,
    )
    .bind(hash)
    .first<Pick<ApiKeyRow, "id" | "hash" | "scope" | "userId" | "accountId" | "revokedAt">>();
}
