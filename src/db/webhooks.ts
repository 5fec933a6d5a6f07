// Webhook endpoints, deliveries and their attempts; the account's default signing secret.
import { and, asc, desc, eq, inArray, isNull, lt, or } from "drizzle-orm";
import type { D1, Db } from "./client";
import { accounts, type JobStatus, webhookAttempts, webhookDeliveries, webhookEndpoints } from "./schema";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;

// ---- endpoints

/**
 * Inserts the endpoint unless the account already has `max` of them: one conditional statement, so
 * registrations racing each other cannot pass the limit together. False when the limit refused it.
 */
export async function insertEndpointWithinLimit(d1: D1, row: EndpointRow, max: number): Promise<boolean> {
  const res = await d1
    .prepare(
      `INSERT INTO webhook_endpoints (id, account_id, url, secret, events, description, created_at, disabled_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
       WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE account_id = ?2) < ?9`,
    )
    .bind(row.id, row.accountId, row.url, row.secret, row.events, row.description, row.createdAt, row.disabledAt, max)
    .run();
  return res.meta.changes > 0;
}

export function listEndpoints(db: Db, accountId: string) {
  return db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.accountId, accountId))
    .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
}

export function findEndpoint(db: Db, id: string) {
  return db.query.webhookEndpoints.findFirst({ where: eq(webhookEndpoints.id, id) });
}

export async function deleteEndpoint(db: Db, id: string): Promise<void> {
  await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
}

// ---- the account's signing secret for jobs' own webhookUrl

export async function accountWebhookSecret(db: Db, accountId: string): Promise<string | null> {
  const row = await db
    .select({ secret: accounts.webhookSecret })
    .from(accounts)
    .where(eq(accounts.id, accountId))
    .get();
  return row?.secret ?? null;
}

/** The account's secret, made on first use; a conditional write, so concurrent first uses agree. */
export async function ensureAccountWebhookSecret(db: Db, accountId: string, candidate: string): Promise<string> {
  await db
    .update(accounts)
    .set({ webhookSecret: candidate })
    .where(and(eq(accounts.id, accountId), isNull(accounts.webhookSecret)));
  const secret = await accountWebhookSecret(db, accountId);
  if (!secret) throw new Error(`account ${accountId} missing`);
  return secret;
}

export async function replaceAccountWebhookSecret(db: Db, accountId: string, secret: string): Promise<void> {
  await db.update(accounts).set({ webhookSecret: secret }).where(eq(accounts.id, accountId));
}

// ---- deliveries

/**
 * The webhook outbox: the deliveries of a job's end event, as statements that join the batch of the job's
 * terminal transition (after it). They insert rows only if the job is then in `status` and no earlier event of
 * that type exists for it, so deliveries appear exactly when the transition happened, and once: the job's own
 * webhookUrl first, then every enabled endpoint of the account whose filter takes the event (a URL gets the
 * event once: the unique (event_id, url) index). Renditions are internal jobs and send nothing.
 */
export function outboxStatements(
  d1: D1,
  event: { jobId: string; status: JobStatus; eventId: string; eventType: string; now: number },
): D1PreparedStatement[] {
  const firstOfItsKind = `j.id = ?1 AND j.status = ?2 AND j.kind = 'job'
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.job_id = ?1 AND d.event_type = ?4 AND d.event_id <> ?3)`;
  const columns =
    "id, account_id, event_id, event_type, job_id, endpoint_id, url, status, attempts, next_attempt_at, created_at";
  const id = "'dlv_' || lower(hex(randomblob(10)))";
  const args = [event.jobId, event.status, event.eventId, event.eventType, event.now];
  return [
    d1
      .prepare(
        `INSERT INTO webhook_deliveries (${columns})
         SELECT ${id}, j.account_id, ?3, ?4, j.id, NULL, j.webhook_url, 'pending', 0, ?5, ?5
         FROM jobs j WHERE ${firstOfItsKind} AND j.webhook_url IS NOT NULL
         ON CONFLICT DO NOTHING`,
      )
      .bind(...args),
    d1
      .prepare(
        `INSERT INTO webhook_deliveries (${columns})
         SELECT ${id}, j.account_id, ?3, ?4, j.id, e.id, e.url, 'pending', 0, ?5, ?5
         FROM jobs j JOIN webhook_endpoints e ON e.account_id = j.account_id AND e.disabled_at IS NULL
         WHERE ${firstOfItsKind} AND EXISTS (SELECT 1 FROM json_each(e.events) WHERE json_each.value = ?4)
         ORDER BY e.created_at, e.id
         ON CONFLICT DO NOTHING`,
      )
      .bind(...args),
  ];
}

/** The pending deliveries of one event: what the outbox wrote, to be queued. */
export async function pendingDeliveriesOfEvent(db: Db, eventId: string): Promise<string[]> {
  const rows = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.eventId, eventId), eq(webhookDeliveries.status, "pending")));
  return rows.map((r) => r.id);
}

/**
 * Pending deliveries whose attempt was due before `before`: their queue message was lost (never sent, or
 * dropped). Served by the partial index webhook_deliveries_pending. Each returned row's next attempt is moved to
 * `now` in the same round trip, so it is not picked again until it is overdue once more.
 */
export const LOST_DELIVERIES_SQL = `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at < ?1 ORDER BY next_attempt_at LIMIT ?3`;

export async function takeLostDeliveries(d1: D1, before: number, now: number, limit = 100): Promise<string[]> {
  const { results } = await d1
    .prepare(`UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE id IN (${LOST_DELIVERIES_SQL}) RETURNING id`)
    .bind(before, now, limit)
    .all<{ id: string }>();
  return results.map((r) => r.id);
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
export function listDeliveries(
  db: Db,
  accountId: string,
  opts: { jobId?: string; limit: number; before?: { createdAt: number; id: string } },
) {
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
export async function recordAttempt(
  db: Db,
  delivery: DeliveryRow,
  attempt: AttemptRecord,
  update: DeliveryUpdate,
): Promise<void> {
  const insert = db
    .insert(webhookAttempts)
    .values({ id: `att_${delivery.id.slice(4)}_${attempt.attempt}`, deliveryId: delivery.id, ...attempt })
    .onConflictDoNothing();
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
export async function reopenDelivery(
  db: Db,
  id: string,
  now: number,
  staleBefore: number,
): Promise<DeliveryRow | undefined> {
  const rows = await db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: now, deliveredAt: null })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        or(
          eq(webhookDeliveries.status, "delivered"),
          eq(webhookDeliveries.status, "failed"),
          lt(webhookDeliveries.nextAttemptAt, staleBefore),
        ),
      ),
    )
    .returning();
  return rows[0];
}
