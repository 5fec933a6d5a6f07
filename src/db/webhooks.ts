// Webhook endpoints, deliveries and their attempts; the account's default signing secret.
import { and, desc, eq, inArray, isNull, lt, or, asc } from "drizzle-orm";
import type { Db } from "./client";
import { accounts, webhookAttempts, webhookDeliveries, webhookEndpoints } from "./schema";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type NewDelivery = typeof webhookDeliveries.$inferInsert & { id: string };
export type AttemptRow = typeof webhookAttempts.$inferSelect;

// ---- endpoints

export async function insertEndpoint(db: Db, row: typeof webhookEndpoints.$inferInsert): Promise<void> {
  await db.insert(webhookEndpoints).values(row);
}

export function listEndpoints(db: Db, accountId: string) {
  return db.select().from(webhookEndpoints).where(eq(webhookEndpoints.accountId, accountId)).orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
}

export function activeEndpointsFor(db: Db, accountId: string) {
  return db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.accountId, accountId), isNull(webhookEndpoints.disabledAt)));
}

export async function countEndpoints(db: Db, accountId: string): Promise<number> {
  return (await db.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(eq(webhookEndpoints.accountId, accountId))).length;
}

export function findEndpoint(db: Db, id: string) {
  return db.query.webhookEndpoints.findFirst({ where: eq(webhookEndpoints.id, id) });
}

export async function deleteEndpoint(db: Db, id: string): Promise<void> {
  await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
}

// ---- the account's signing secret for jobs' own webhookUrl

export async function accountWebhookSecret(db: Db, accountId: string): Promise<string | null> {
  const row = await db.select({ secret: accounts.webhookSecret }).from(accounts).where(eq(accounts.id, accountId)).get();
  return row?.secret ?? null;
}

/** The account's secret, made on first use; a conditional write, so concurrent first uses agree. */
export async function ensureAccountWebhookSecret(db: Db, accountId: string, candidate: string): Promise<string> {
  await db.update(accounts).set({ webhookSecret: candidate }).where(and(eq(accounts.id, accountId), isNull(accounts.webhookSecret)));
  const secret = await accountWebhookSecret(db, accountId);
  if (!secret) throw new Error(`account ${accountId} missing`);
  return secret;
}

export async function replaceAccountWebhookSecret(db: Db, accountId: string, secret: string): Promise<void> {
  await db.update(accounts).set({ webhookSecret: secret }).where(eq(accounts.id, accountId));
}

// ---- deliveries

/** One statement a row, in one batch: D1 allows 100 bound variables a statement, an event may have 21 rows. */
export async function insertDeliveries(db: Db, rows: NewDelivery[]): Promise<void> {
  const [first, ...rest] = rows.map((row) => db.insert(webhookDeliveries).values(row).onConflictDoNothing());
  if (first) await db.batch([first, ...rest]);
}

export function findDelivery(db: Db, id: string) {
  return db.query.webhookDeliveries.findFirst({ where: eq(webhookDeliveries.id, id) });
}

export async function markDeliveriesFailed(db: Db, ids: string[], error: string): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(webhookDeliveries)
    .set({ status: "failed", lastError: error, nextAttemptAt: null })
    .where(and(inArray(webhookDeliveries.id, ids), eq(webhookDeliveries.status, "pending")));
}

/** Newest first; the cursor is the last row's (createdAt, id). */
export function listDeliveries(db: Db, accountId: string, opts: { jobId?: string; limit: number; before?: { createdAt: number; id: string } }) {
  const conds = [eq(webhookDeliveries.accountId, accountId)];
  if (opts.jobId) conds.push(eq(webhookDeliveries.jobId, opts.jobId));
  if (opts.before) {
    conds.push(
      or(
        lt(webhookDeliveries.createdAt, opts.before.createdAt),
        and(eq(webhookDeliveries.createdAt, opts.before.createdAt), lt(webhookDeliveries.id, opts.before.id)),
      )!,
    );
  }
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(...conds))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(opts.limit);
}

export async function attemptsOf(db: Db, deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
  const out = new Map<string, AttemptRow[]>(deliveryIds.map((id) => [id, []]));
  // Chunks keep each query under D1's 100 bound variables.
  for (let i = 0; i < deliveryIds.length; i += 50) {
    const rows = await db
      .select()
      .from(webhookAttempts)
      .where(inArray(webhookAttempts.deliveryId, deliveryIds.slice(i, i + 50)))
      .orderBy(asc(webhookAttempts.deliveryId), asc(webhookAttempts.attempt));
    for (const row of rows) out.get(row.deliveryId)!.push(row);
  }
  return out;
}

export interface AttemptRecord {
  attempt: number;
  at: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface DeliveryUpdate {
  status: DeliveryRow["status"];
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  disableEndpoint: boolean;
}

/** One attempt's record and its effect on the delivery (and its endpoint, on 410), in one batch. */
export async function recordAttempt(db: Db, delivery: DeliveryRow, attempt: AttemptRecord, update: DeliveryUpdate): Promise<void> {
  const insert = db.insert(webhookAttempts).values({ id: `att_${delivery.id.slice(4)}_${attempt.attempt}`, deliveryId: delivery.id, ...attempt }).onConflictDoNothing();
  const change = db
    .update(webhookDeliveries)
    .set({
      status: update.status,
      attempts: attempt.attempt,
      lastStatusCode: attempt.statusCode,
      lastError: attempt.error,
      nextAttemptAt: update.nextAttemptAt,
      deliveredAt: update.deliveredAt,
    })
    .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, "pending")));
  if (update.disableEndpoint && delivery.endpointId) {
    const disable = db
      .update(webhookEndpoints)
      .set({ disabledAt: attempt.at })
      .where(and(eq(webhookEndpoints.id, delivery.endpointId), isNull(webhookEndpoints.disabledAt)));
    await db.batch([insert, change, disable]);
  } else {
    await db.batch([insert, change]);
  }
}

/**
 * Puts a finished delivery back to pending for a new attempt sequence. A pending one is refused unless its
 * next attempt is long overdue (its queue message was lost), so two sequences never run side by side.
 */
export async function reopenDelivery(db: Db, id: string, now: number, staleBefore: number): Promise<DeliveryRow | undefined> {
  const rows = await db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: now, deliveredAt: null })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        or(eq(webhookDeliveries.status, "delivered"), eq(webhookDeliveries.status, "failed"), lt(webhookDeliveries.nextAttemptAt, staleBefore)),
      ),
    )
    .returning();
  return rows[0];
}
