// Job rows and their state changes. Changes that move money or must not race are single D1 batches
// (atomic: any failing statement rolls the whole batch back) whose WHERE clauses encode the state machine.
import { and, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { D1, Db } from "./client";
import { type JobStatus, jobs } from "./schema";

export type JobRow = typeof jobs.$inferSelect;
export type NewJob = typeof jobs.$inferInsert;
const ACTIVE = "('Queued','Running')";

export function findJob(db: Db, id: string) {
  return db.query.jobs.findFirst({ where: eq(jobs.id, id) });
}

/** Only the status: what a waiter polls (a raw statement, the cheapest read). */
export async function jobStatusOf(d1: D1, id: string): Promise<JobStatus | null> {
  return (
    (await d1.prepare(`SELECT status FROM jobs WHERE id = ?1`).bind(id).first<{ status: JobStatus }>())?.status ?? null
  );
}

export function listJobs(db: Db, accountId: string, opts: { status?: JobStatus; limit: number; before?: string }) {
  const conds = [eq(jobs.accountId, accountId), eq(jobs.kind, "job")];
  if (opts.status) conds.push(eq(jobs.status, opts.status));
  if (opts.before) conds.push(lt(jobs.id, opts.before));
  return db
    .select()
    .from(jobs)
    .where(and(...conds))
    .orderBy(desc(jobs.id))
    .limit(opts.limit);
}

export function findByIdempotencyKey(db: Db, accountId: string, key: string) {
  return db.query.jobs.findFirst({ where: and(eq(jobs.accountId, accountId), eq(jobs.idempotencyKey, key)) });
}

/** The jobs no longer answer for these Idempotency-Keys of the account (they expired). */
export async function releaseIdempotencyKeys(d1: D1, accountId: string, keys: string[]): Promise<void> {
  await d1
    .prepare(
      `UPDATE jobs SET idempotency_key = NULL, request_hash = NULL WHERE account_id = ?1 AND idempotency_key IN (SELECT value FROM json_each(?2))`,
    )
    .bind(accountId, JSON.stringify(keys))
    .run();
}

export function findByIdempotencyKeys(db: Db, accountId: string, keys: string[]) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.accountId, accountId), inArray(jobs.idempotencyKey, keys)));
}

export function staleRunningJobs(db: Db, now: number, limit = 50) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "Running"), lt(jobs.deadlineAt, now)))
    .limit(limit);
}

/**
 * Queued jobs whose message was last sent before `before`: it may have been lost. Served by the index
 * jobs_status_enqueued (status, enqueued_at); resending moves `enqueued_at` forward, so a row is picked once
 * per resend window.
 */
export const STALE_QUEUED_SQL = `SELECT id FROM jobs WHERE status = 'Queued' AND enqueued_at < ?1 ORDER BY enqueued_at LIMIT ?2`;

export async function staleQueuedJobs(d1: D1, before: number, limit = 100): Promise<string[]> {
  const { results } = await d1.prepare(STALE_QUEUED_SQL).bind(before, limit).all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Records a (re)send of the jobs' messages; only Queued jobs wait for one. */
export function markEnqueuedStatements(d1: D1, ids: string[], now: number): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  // Chunks keep each statement under D1's 100 bound variables.
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    const list = chunk.map((_, j) => `?${j + 2}`).join(",");
    statements.push(
      d1.prepare(`UPDATE jobs SET enqueued_at = ?1 WHERE status = 'Queued' AND id IN (${list})`).bind(now, ...chunk),
    );
  }
  return statements;
}

/**
 * Outputs past their expiry that are still stored, oldest first. Served by the partial index jobs_output_expiry:
 * a cleared output leaves the index, so a sweep never picks the same row again.
 */
export const EXPIRED_OUTPUTS_SQL = `SELECT id, output_key AS outputKey FROM jobs WHERE output_key IS NOT NULL AND output_expires_at < ?1 ORDER BY output_expires_at LIMIT ?2`;

export async function expiredOutputs(d1: D1, now: number, limit = 500): Promise<{ id: string; outputKey: string }[]> {
  const { results } = await d1.prepare(EXPIRED_OUTPUTS_SQL).bind(now, limit).all<{ id: string; outputKey: string }>();
  return results;
}

/** Forgets deleted outputs: the rows leave the expiry index. */
export async function clearOutputs(d1: D1, ids: string[]): Promise<void> {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    statements.push(
      d1
        .prepare(`UPDATE jobs SET output_key = NULL WHERE id IN (${chunk.map((_, j) => `?${j + 1}`).join(",")})`)
        .bind(...chunk),
    );
  }
  if (statements.length) await d1.batch(statements);
}

const INSERT_COLUMNS = [
  "id",
  "account_id",
  "api_key_id",
  "kind",
  "file_id",
  "source_format",
  "target_format",
  "options",
  "phase",
  "percent",
  "credit_cost",
  "input_bytes",
  "input_pages",
  "idempotency_key",
  "request_hash",
  "webhook_url",
  "webhook_metadata",
  "origin",
  "created_at",
  "enqueued_at",
  "attempts",
] as const;

/**
 * The statements that admit one job: the insert (its status is NULL, and so fails NOT NULL, when the account
 * is at its concurrent-job limit), the debit and its ledger row. The account's CHECK constraints refuse a
 * negative balance or a day over the daily limit.
 */
export function admitJobStatements(d1: D1, job: NewJob, maxConcurrentJobs: number, day: string): D1PreparedStatement[] {
  const values: unknown[] = [
    job.id,
    job.accountId,
    job.apiKeyId ?? null,
    job.kind ?? "job",
    job.fileId,
    job.sourceFormat,
    job.targetFormat,
    job.options ?? "{}",
    job.phase,
    job.percent ?? 0,
    job.creditCost,
    job.inputBytes,
    job.inputPages ?? null,
    job.idempotencyKey ?? null,
    job.requestHash ?? null,
    job.webhookUrl ?? null,
    job.webhookMetadata ?? null,
    job.origin ?? null,
    job.createdAt,
    job.createdAt,
    0,
  ];
  const placeholders = values.map((_, i) => `?${i + 1}`).join(", ");
  const n = values.length;
  const insert = d1
    .prepare(
      `INSERT INTO jobs (${INSERT_COLUMNS.join(", ")}, status)
       SELECT ${placeholders},
         CASE WHEN (SELECT COUNT(*) FROM jobs WHERE account_id = ?2 AND status IN ${ACTIVE}) < ?${n + 1} THEN 'Queued' END`,
    )
    .bind(...values, maxConcurrentJobs);
  return [insert, ...debitStatements(d1, job.accountId, job.id, job.creditCost, day, job.createdAt)];
}

function debitStatements(
  d1: D1,
  accountId: string,
  jobId: string,
  cost: number,
  day: string,
  now: number,
): D1PreparedStatement[] {
  if (cost <= 0) return [];
  return [
    d1
      .prepare(
        `UPDATE accounts SET credits = credits - ?2,
           daily_used = (CASE WHEN daily_day = ?3 THEN daily_used ELSE 0 END) + ?2, daily_day = ?3
         WHERE id = ?1`,
      )
      .bind(accountId, cost, day),
    d1
      .prepare(
        `INSERT INTO credit_ledger (id, account_id, delta, reason, job_id, created_at) VALUES (?1, ?2, ?3, 'debit', ?4, ?5)`,
      )
      .bind(`led_${jobId}_d`, accountId, -cost, jobId, now),
  ];
}

/** Why an admission batch was refused, read from the constraint that stopped it. */
export function admissionFailure(
  err: unknown,
): "concurrency" | "credits" | "daily" | "idempotency" | "rendition" | null {
  const message = String((err as Error)?.message ?? err);
  if (message.includes("NOT NULL constraint failed: jobs.status")) return "concurrency";
  if (message.includes("accounts_credits_non_negative")) return "credits";
  if (message.includes("accounts_daily_within_limit")) return "daily";
  if (message.includes("jobs.account_id, jobs.idempotency_key")) return "idempotency";
  if (message.includes("renditions.cache_key")) return "rendition";
  return null;
}

/**
 * Claims a job for conversion: Queued, or Running past its deadline (a consumer that died, or one still
 * converting too slowly). Returns the claimed row in the same round trip, or undefined when another delivery
 * has it or it has ended. The row's `attempts` is the claim's token: every later change by this claim names
 * it, so a claim taken over after its deadline can no longer complete, requeue or fail the job. It is unique
 * among the claims alive at once: a later claim always holds a larger count (back-pressure gives an attempt
 * back only for a claim that has ended).
 */
export async function claimJob(db: Db, id: string, now: number, deadline: number): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({
      status: "Running",
      phase: "converting",
      startedAt: now,
      deadlineAt: deadline,
      attempts: sql`${jobs.attempts} + 1`,
    })
    .where(
      and(eq(jobs.id, id), or(eq(jobs.status, "Queued"), and(eq(jobs.status, "Running"), lt(jobs.deadlineAt, now)))),
    )
    .returning();
  return row;
}

/** The step a Running job is at. `percent` stays 0 until the job ends (seed 003: 0 while Queued or Running). */
export async function setPhase(d1: D1, id: string, attempt: number, phase: string): Promise<void> {
  await d1
    .prepare(`UPDATE jobs SET phase = ?2 WHERE id = ?1 AND status = 'Running' AND attempts = ?3`)
    .bind(id, phase, attempt)
    .run();
}

export interface JobOutput {
  outputKey: string;
  outputBytes: number;
  outputPages: number | null;
  inputPages: number | null;
  outputFileName: string;
  outputContentType: string;
  outputFileCount: number;
  outputExpiresAt: number | null;
}

/**
 * Running → Succeeded, by the claim `attempt` only. False when the job is no longer Running under that claim
 * (canceled meanwhile, or taken over after its deadline): discard the output.
 * `then` joins the same batch after the transition (the webhook outbox), so it sees the job Succeeded.
 */
export async function completeJob(
  d1: D1,
  id: string,
  attempt: number,
  out: JobOutput,
  now: number,
  then: D1PreparedStatement[] = [],
): Promise<boolean> {
  const results = await d1.batch([
    d1
      .prepare(
        `UPDATE jobs SET status = 'Succeeded', phase = 'done', percent = 100, finished_at = ?2, output_key = ?3, output_bytes = ?4,
           output_pages = ?5, input_pages = COALESCE(?6, input_pages), output_file_name = ?7, output_content_type = ?8,
           output_file_count = ?9, output_expires_at = ?10, error_code = NULL, error_detail = NULL, waiting_since = NULL
         WHERE id = ?1 AND status = 'Running' AND attempts = ?11`,
      )
      .bind(
        id,
        now,
        out.outputKey,
        out.outputBytes,
        out.outputPages,
        out.inputPages,
        out.outputFileName,
        out.outputContentType,
        out.outputFileCount,
        out.outputExpiresAt,
        attempt,
      ),
    ...then,
  ]);
  return (results[0]?.meta.changes ?? 0) > 0;
}

/**
 * Running → Queued under the claim `attempt`, before its message is sent again. `backPressure`: no converter
 * took the job, so the claim gives its attempt back and the wait clock starts (or keeps running); otherwise a
 * converter answered (a fault), which stops the clock.
 */
export async function requeueJob(
  d1: D1,
  id: string,
  attempt: number,
  now: number,
  opts: { backPressure?: boolean } = {},
): Promise<boolean> {
  const change = opts.backPressure
    ? "attempts = MAX(0, attempts - 1), waiting_since = COALESCE(waiting_since, ?2)"
    : "waiting_since = NULL";
  const res = await d1
    .prepare(
      `UPDATE jobs SET status = 'Queued', phase = 'queued', percent = 0, ${change}, deadline_at = NULL, enqueued_at = ?2 WHERE id = ?1 AND status = 'Running' AND attempts = ?3`,
    )
    .bind(id, now, attempt)
    .run();
  return res.meta.changes > 0;
}

/** A Queued job whose message was dead-lettered waits like one under back-pressure; returns its clock's start. */
export async function startWaiting(d1: D1, id: string, now: number): Promise<number | null> {
  const row = await d1
    .prepare(
      `UPDATE jobs SET waiting_since = COALESCE(waiting_since, ?2), enqueued_at = ?2 WHERE id = ?1 AND status = 'Queued' RETURNING waiting_since AS waitingSince`,
    )
    .bind(id, now)
    .first<{ waitingSince: number }>();
  return row?.waitingSince ?? null;
}

/**
 * Ends an active job as Failed or Canceled and refunds its credits, exactly once: the refund statements only
 * act when the job has ended that way and no refund row exists for it yet. Returns whether this call ended it.
 * `attempt`: only while the job is still under that claim (a conversion's own failure).
 */
export async function endJobWithRefund(
  d1: D1,
  job: Pick<JobRow, "id" | "accountId" | "creditCost">,
  end: {
    status: "Failed" | "Canceled";
    errorCode: string | null;
    errorDetail: string | null;
    phase: string;
    fromStatuses: JobStatus[];
    attempt?: number;
  },
  now: number,
  day: string,
  then: D1PreparedStatement[] = [],
): Promise<boolean> {
  const from = end.fromStatuses.map((s) => `'${s}'`).join(",");
  const results = await d1.batch([
    d1
      .prepare(
        `UPDATE jobs SET status = ?2, phase = ?3, finished_at = ?4, error_code = ?5, error_detail = ?6, deadline_at = NULL
         WHERE id = ?1 AND status IN (${from})${end.attempt === undefined ? "" : " AND attempts = ?7"}`,
      )
      .bind(
        job.id,
        end.status,
        end.phase,
        now,
        end.errorCode,
        end.errorDetail,
        ...(end.attempt === undefined ? [] : [end.attempt]),
      ),
    ...refundStatements(d1, job, now, day),
    ...then,
  ]);
  return (results[0]?.meta.changes ?? 0) > 0;
}

function refundStatements(
  d1: D1,
  job: Pick<JobRow, "id" | "accountId" | "creditCost">,
  now: number,
  day: string,
): D1PreparedStatement[] {
  if (job.creditCost <= 0) return [];
  const refundable = `EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND status IN ('Failed','Canceled'))
    AND NOT EXISTS (SELECT 1 FROM credit_ledger WHERE job_id = ?1 AND reason = 'refund')`;
  return [
    d1
      .prepare(
        `UPDATE accounts SET credits = credits + ?3,
           daily_used = CASE WHEN daily_day = ?4 THEN MAX(0, daily_used - ?3) ELSE daily_used END
         WHERE id = ?2 AND ${refundable}`,
      )
      .bind(job.id, job.accountId, job.creditCost, day),
    d1
      .prepare(
        `INSERT INTO credit_ledger (id, account_id, delta, reason, job_id, created_at)
         SELECT ?5, ?2, ?3, 'refund', ?1, ?4 WHERE ${refundable}`,
      )
      .bind(job.id, job.accountId, job.creditCost, now, `led_${job.id}_r`),
  ];
}
