// The test harness: accounts and keys in one call, API calls with a key, fixtures, waiting for jobs.
import { inject } from "vitest";
import { env, exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { generateApiKey, hashApiKey } from "../src/auth/api-keys";
import { accountIdFor, provisionStatements } from "../src/db/provision";
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
export async function seedAccount(opts: { user?: string; workspace?: string; plan?: "free" | "pro"; credits?: number } = {}): Promise<TestAccount> {
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

export async function submit(account: TestAccount, fields: Record<string, string | { name: string; bytes: Uint8Array }>, headers: Record<string, string> = {}) {
  return account.json("/v1/convert", { method: "POST", body: form(fields), headers });
}

export async function waitForJob(account: TestAccount, id: string, until: (status: string) => boolean = (s) => ["Succeeded", "Failed", "Canceled"].includes(s), timeout = 60_000) {
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
  const row = await env.DB.prepare(`SELECT credits, (SELECT COALESCE(SUM(delta),0) FROM credit_ledger WHERE account_id = ?1) AS ledger FROM accounts WHERE id = ?1`)
    .bind(accountId)
    .first<{ credits: number; ledger: number }>();
  return { credits: row!.credits, ledgerSum: row!.ledger };
}

export function pdfPageCount(bytes: Uint8Array): number {
  const text = new TextDecoder("latin1").decode(bytes);
  return text.match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
}

/** A job row admitted like the API does but never sent to the queue: it stays where the test puts it. */
export async function parkedJob(account: TestAccount, status: "Queued" | "Running", cost = 3, opts: { attempts?: number; deadlineAt?: number; targetFormat?: string } = {}) {
  const { file_id, bytes } = await upload(account, "docx-header-footer.docx");
  const id = uuidv7();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO jobs (id, account_id, kind, file_id, source_format, target_format, options, status, phase, percent, credit_cost, input_bytes, created_at, attempts, started_at, deadline_at)
       VALUES (?1, ?2, 'job', ?3, 'docx', ?11, '{}', ?4, ?5, 0, ?6, ?12, ?7, ?8, ?9, ?10)`,
    ).bind(id, account.accountId, file_id, status, status === "Running" ? "converting" : "queued", cost, now, opts.attempts ?? (status === "Running" ? 1 : 0), status === "Running" ? now : null, status === "Running" ? (opts.deadlineAt ?? now + 300_000) : null, opts.targetFormat ?? "pdf", bytes),
    env.DB.prepare("UPDATE accounts SET credits = credits - ?2 WHERE id = ?1").bind(account.accountId, cost),
    env.DB.prepare("INSERT INTO credit_ledger (id, account_id, delta, reason, job_id, created_at) VALUES (?1, ?2, ?3, 'debit', ?4, ?5)").bind(`led_${id}_d`, account.accountId, -cost, id, now),
  ]);
  return id;
}

