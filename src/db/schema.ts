// The only schema. drizzle-kit generates migrations/ from this file.
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const createdAt = () => integer("created_at", { mode: "number" }).notNull();

/** A user or a workspace: whoever owns files and jobs and pays for them. */
export const accounts = sqliteTable(
  "accounts",
  {
    id: text("id").primaryKey(), // usr_… or wks_…
    kind: text("kind", { enum: ["user", "workspace"] }).notNull(),
    name: text("name").notNull(),
    planId: text("plan_id", { enum: ["free", "pro"] })
      .notNull()
      .default("free"),
    credits: integer("credits").notNull().default(0),
    // Free plan: credits spent on the UTC day `dailyDay` (YYYY-MM-DD); the CHECK keeps debits within the limit.
    dailyLimit: integer("daily_limit"),
    dailyUsed: integer("daily_used").notNull().default(0),
    dailyDay: text("daily_day").notNull().default(""),
    // Signs webhooks sent to a job's own webhookUrl (registered endpoints have their own); made on first use.
    webhookSecret: text("webhook_secret"),
    createdAt: createdAt(),
  },
  (t) => [
    check("accounts_credits_non_negative", sql`${t.credits} >= 0`),
    check("accounts_daily_within_limit", sql`${t.dailyLimit} IS NULL OR ${t.dailyUsed} <= ${t.dailyLimit}`),
  ],
);

export const memberships = sqliteTable(
  "memberships",
  {
    userId: text("user_id")
      .notNull()
      .references(() => accounts.id),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => accounts.id),
    role: text("role", { enum: ["owner", "member"] })
      .notNull()
      .default("member"),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.workspaceId] })],
);

/** Only the SHA-256 of a key is stored; `prefix` is the visible start shown in listings. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(), // key_…
    hash: text("hash").notNull(),
    prefix: text("prefix").notNull(),
    scope: text("scope", { enum: ["personal", "workspace"] }).notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => accounts.id),
    // The account the key acts for: the user itself (personal) or the workspace.
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name"),
    createdAt: createdAt(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.hash)],
);

export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(), // file_…
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    filename: text("filename").notNull(),
    bytes: integer("bytes").notNull(),
    sourceFormat: text("source_format").notNull(),
    contentType: text("content_type").notNull(),
    purpose: text("purpose").notNull(),
    pages: integer("pages"), // from the document's own metadata when it has one
    storageKey: text("storage_key").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("files_account").on(t.accountId, t.createdAt)],
);

export const JOB_STATUSES = ["Queued", "Running", "Succeeded", "Failed", "Canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(), // UUIDv7
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    apiKeyId: text("api_key_id"),
    // "job": POST /v1/convert; "rendition": a cached file/run conversion.
    kind: text("kind", { enum: ["job", "rendition"] })
      .notNull()
      .default("job"),
    fileId: text("file_id")
      .notNull()
      .references(() => files.id),
    sourceFormat: text("source_format").notNull(),
    targetFormat: text("target_format").notNull(),
    options: text("options").notNull().default("{}"), // JSON of converter options
    status: text("status", { enum: JOB_STATUSES }).notNull(),
    phase: text("phase").notNull(),
    percent: integer("percent").notNull().default(0),
    creditCost: integer("credit_cost").notNull(),
    inputBytes: integer("input_bytes").notNull(),
    inputPages: integer("input_pages"),
    outputBytes: integer("output_bytes"),
    outputPages: integer("output_pages"),
    outputKey: text("output_key"),
    outputFileName: text("output_file_name"),
    outputContentType: text("output_content_type"),
    outputFileCount: integer("output_file_count"),
    outputExpiresAt: integer("output_expires_at"), // null: kept (renditions)
    errorCode: text("error_code"),
    errorDetail: text("error_detail"),
    attempts: integer("attempts").notNull().default(0),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    webhookUrl: text("webhook_url"),
    webhookMetadata: text("webhook_metadata"),
    // The API origin the job was submitted to (https://…): its webhook events link downloads there.
    origin: text("origin"),
    createdAt: createdAt(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    // A Running job past this instant is stale: the sweeper requeues or fails it.
    deadlineAt: integer("deadline_at"),
    // When its queue message was last sent (back-pressure and retry re-sends included): a job Queued long
    // after this has lost its message, and the sweeper sends another.
    enqueuedAt: integer("enqueued_at").notNull().default(0), // 0 on rows older than the column: resent once
    // Since when no converter has taken the job (busy, starting, rolling out, or its message dead-lettered);
    // NULL once one answers. Past the wait budget the job fails with convert.unavailable.
    waitingSince: integer("waiting_since"),
  },
  (t) => [
    index("jobs_account_created").on(t.accountId, t.id),
    index("jobs_status_deadline").on(t.status, t.deadlineAt),
    uniqueIndex("jobs_idempotency").on(t.accountId, t.idempotencyKey),
    // The sweeper's scans: lost messages by status and last send; outputs by expiry, only while still stored.
    index("jobs_status_enqueued").on(t.status, t.enqueuedAt),
    index("jobs_output_expiry").on(t.outputExpiresAt).where(sql`output_key IS NOT NULL`),
  ],
);

/** Every change of a balance is a row; refunds are unique per job so they happen once. */
export const creditLedger = sqliteTable(
  "credit_ledger",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    delta: integer("delta").notNull(),
    reason: text("reason", { enum: ["grant", "debit", "refund"] }).notNull(),
    jobId: text("job_id"),
    createdAt: createdAt(),
  },
  (t) => [
    index("credit_ledger_account").on(t.accountId, t.createdAt),
    uniqueIndex("credit_ledger_job_reason").on(t.jobId, t.reason),
  ],
);

/** Cached conversions of a file or a run, keyed by (source, format, options). */
export const renditions = sqliteTable("renditions", {
  cacheKey: text("cache_key").primaryKey(),
  accountId: text("account_id")
    .notNull()
    .references(() => accounts.id),
  sourceKind: text("source_kind", { enum: ["file", "run"] }).notNull(),
  sourceId: text("source_id").notNull(),
  format: text("format").notNull(),
  jobId: text("job_id")
    .notNull()
    .references(() => jobs.id),
  createdAt: createdAt(),
});

export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(), // whk_…
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    url: text("url").notNull(),
    secret: text("secret").notNull(),
    events: text("events").notNull(), // JSON array of event types
    description: text("description"),
    createdAt: createdAt(),
    disabledAt: integer("disabled_at"),
  },
  (t) => [index("webhook_endpoints_account").on(t.accountId)],
);

export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(), // dlv_…
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    eventId: text("event_id").notNull(), // evt_…, stable across redeliveries
    eventType: text("event_type").notNull(),
    jobId: text("job_id").notNull(),
    endpointId: text("endpoint_id"), // null: the job's own webhookUrl
    url: text("url").notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    nextAttemptAt: integer("next_attempt_at"),
    createdAt: createdAt(),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [
    index("webhook_deliveries_account").on(t.accountId, t.createdAt),
    uniqueIndex("webhook_deliveries_event_target").on(t.eventId, t.url),
    // The outbox: a job's deliveries of one event type are written once; pending ones are swept.
    index("webhook_deliveries_job_event").on(t.jobId, t.eventType),
    index("webhook_deliveries_pending").on(t.nextAttemptAt).where(sql`status = 'pending'`),
  ],
);

export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text("id").primaryKey(),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
  },
  (t) => [index("webhook_attempts_delivery").on(t.deliveryId, t.attempt)],
);
