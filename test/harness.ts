// The test harness: accounts and keys in one call, API calls with a key, fixtures, waiting for jobs.

import { env, exports } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { expect, inject, vi } from "vitest";
import { generateApiKey, hashApiKey } from "../src/auth/api-keys";
import { openDb } from "../src/db/client";
import type { NewJob } from "../src/db/jobs";
import { accountIdFor, provisionStatements } from "../src/db/provision";
import { accounts, creditLedger, type JobStatus, jobs } from "../src/db/schema";
import { randomToken, uuidv7 } from "../src/ids";

export const BASE = "http://docconv.test";

export interface TestAccount {
  key: string;
  accountId: string;
  userId: string;
  call(path: string, init?: RequestInit): Promise<Response>;
  json<T = any>(path: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }>;
}

let counter = 0;

/** A fresh account (user, or a workspace of that user) with a key; names are unique per call unless given. */
export async function seedAccount(
  opts: { user?: string; workspace?: string; plan?: "free" | "pro"; credits?: number } = {},
): Promise<TestAccount> {
  const userName = opts.user ?? `user-${++counter}-${randomToken(6)}`;
  const { key, prefix } = generateApiKey("test");
  const userId = await accountIdFor("usr", userName);
  const workspaceId = opts.workspace ? await accountIdFor("wks", opts.workspace) : undefined;
  const statements = provisionStatements({
    userName,
    workspaceName: opts.workspace,
    plan: opts.plan,
    credits: opts.credits ?? 1000,
    keyId: `key_${randomToken(20)}`,
    keyHash: await hashApiKey(key),
    keyPrefix: prefix,
    userId,
    workspaceId,
    now: Date.now(),
  });
  await env.DB.batch(statements.map((s) => env.DB.prepare(s)));
  const call = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has("x-api-key") && !headers.has("authorization")) headers.set("x-api-key", key);
    return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers }));
  };
  return {
    key,
    accountId: workspaceId ?? userId,
    userId,
    call,
    async json(path, init) {
      const res = await call(path, init);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    },
  };
}

export function fixture(name: string): Uint8Array {
  const b64 = inject("fixtures")[name];
  if (!b64) throw new Error(`no fixture ${name}`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export function form(fields: Record<string, string | { name: string; bytes: Uint8Array }>): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === "string") fd.set(k, v);
    else fd.set(k, new File([v.bytes], v.name));
  }
  return fd;
}

export async function upload(account: TestAccount, name: string, bytes = fixture(name)) {
  const res = await account.json("/v1/files", { method: "POST", body: form({ file: { name, bytes } }) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { file_id: string; source_format: string; bytes: number };
}

export async function submit(
  account: TestAccount,
  fields: Record<string, string | { name: string; bytes: Uint8Array }>,
  headers: Record<string, string> = {},
) {
  return account.json("/v1/convert", { method: "POST", body: form(fields), headers });
}

export async function waitForJob(
  account: TestAccount,
  id: string,
  until: (status: string) => boolean = (s) => ["Succeeded", "Failed", "Canceled"].includes(s),
  timeout = 60_000,
) {
  let last: any;
  await vi.waitUntil(
    async () => {
      last = (await account.json(`/v1/convert/job/${id}`)).body;
      return until(last.status);
    },
    { timeout, interval: 100 },
  );
  return last;
}

export async function balance(accountId: string): Promise<{ credits: number; ledgerSum: number }> {
  const row = await env.DB.prepare(
    `SELECT credits, (SELECT COALESCE(SUM(delta),0) FROM credit_ledger WHERE account_id = ?1) AS ledger FROM accounts WHERE id = ?1`,
  )
    .bind(accountId)
    .first<{ credits: number; ledger: number }>();
  return { credits: row!.credits, ledgerSum: row!.ledger };
}

export function pdfPageCount(bytes: Uint8Array): number {
  const text = new TextDecoder("latin1").decode(bytes);
  return text.match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
}

export type TestJob = Partial<NewJob> & { accountId: string; fileId: string };

/**
 * The one way tests write job rows: directly, in states the pipeline would not hold still for a test, never sent
 * to the queue. Defaults: a Queued docx → pdf job made now, free. `charge` debits each job's cost as admission does
 * (balance and ledger), so refunds can be checked.
 */
export async function insertJobs(rows: TestJob[], opts: { charge?: boolean } = {}): Promise<string[]> {
  const db = openDb(env.DB);
  const now = Date.now();
  const values = rows.map((row) => ({
    id: uuidv7(),
    kind: "job" as const,
    sourceFormat: "docx",
    targetFormat: "pdf",
    options: "{}",
    status: "Queued" as const,
    phase: row.status === "Running" ? "converting" : "queued",
    creditCost: 0,
    inputBytes: 100,
    createdAt: now,
    enqueuedAt: row.createdAt ?? now,
    ...row,
  }));
  const statements = values.flatMap((job) => [
    db.insert(jobs).values(job),
    ...(opts.charge && job.creditCost > 0
      ? [
          db
            .update(accounts)
            .set({ credits: sql`${accounts.credits} - ${job.creditCost}` })
            .where(eq(accounts.id, job.accountId)),
          db.insert(creditLedger).values({
            id: `led_${job.id}_d`,
            accountId: job.accountId,
            delta: -job.creditCost,
            reason: "debit",
            jobId: job.id,
            createdAt: now,
          }),
        ]
      : []),
  ]);
  for (let i = 0; i < statements.length; i += 60) {
    const [first, ...rest] = statements.slice(i, i + 60);
    await db.batch([first!, ...rest]);
  }
  return values.map((job) => job.id);
}

/** A job charged like the API charges it but never sent to the queue: it stays where the test puts it. */
export async function parkedJob(
  account: TestAccount,
  status: "Queued" | "Running",
  cost = 3,
  opts: { attempts?: number; deadlineAt?: number; targetFormat?: string } = {},
) {
  const { file_id, bytes } = await upload(account, "docx-header-footer.docx");
  const now = Date.now();
  const running = status === "Running";
  const [id] = await insertJobs(
    [
      {
        accountId: account.accountId,
        fileId: file_id,
        status,
        targetFormat: opts.targetFormat ?? "pdf",
        creditCost: cost,
        inputBytes: bytes,
        attempts: opts.attempts ?? (running ? 1 : 0),
        startedAt: running ? now : null,
        deadlineAt: running ? (opts.deadlineAt ?? now + 300_000) : null,
      },
    ],
    { charge: true },
  );
  return id!;
}

/** A job's row as stored: every column (SELECT *), named as in SQL; typed for the columns tests assert on. */
export interface StoredJob {
  status: JobStatus;
  attempts: number;
  error_code: string | null;
  error_detail: string | null;
  output_key: string | null;
  waiting_since: number | null;
  enqueued_at: number;
}

/** What the pipeline left in a job's row, read past the API (attempts, the wait clock, the output key). */
export async function jobRow(id: string): Promise<StoredJob> {
  const row = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?1").bind(id).first<StoredJob>();
  if (!row) throw new Error(`no job ${id}`);
  return row;
}

/** Moves a job's admission `ms` into the past (its Idempotency-Key ages with it): time passing, without a sleep. */
export async function backdateJob(id: string, ms: number): Promise<void> {
  await env.DB.prepare("UPDATE jobs SET created_at = created_at - ?2 WHERE id = ?1").bind(id, ms).run();
}

/**
 * The env's bucket with a hook around each get or put whose key starts with `prefix`: the hook decides when
 * (and whether) the real call runs, so a test can interleave a second claim at an exact point of the first.
 */
export function aroundBucket(
  e: Env,
  method: "get" | "put",
  prefix: string,
  hook: (call: () => Promise<unknown>) => Promise<unknown>,
): Env {
  const bucket = new Proxy(e.BUCKET, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop !== method) return value.bind(target);
      return (key: string, ...rest: unknown[]) => {
        const call = () => (value as (...args: unknown[]) => Promise<unknown>).call(target, key, ...rest);
        return key.startsWith(prefix) ? hook(call) : call();
      };
    },
  });
  return { ...e, BUCKET: bucket as R2Bucket };
}
