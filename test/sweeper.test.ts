// The sweeper at size: hundreds of lost job messages, expired outputs and lost webhook deliveries drain over
// successive sweeps, each row picked once, through scans served by their indexes. The queues it sends to are
// recorded rather than consumed here (what matters is what the sweeper sends); the R2 objects are real.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { storedUploadsSql } from "../src/db/files";
import { EXPIRED_OUTPUTS_SQL, STALE_QUEUED_SQL } from "../src/db/jobs";
import type { JobStatus } from "../src/db/schema";
import { LOST_DELIVERIES_SQL } from "../src/db/webhooks";
import { openServices } from "../src/domain/services";
import { ORPHANED_UPLOAD_AFTER_MS } from "../src/domain/uploads";
import { LOST_MESSAGE_AFTER_MS } from "../src/queue/messages";
import { ORPHAN_SCAN_POSITION_KEY, sweep } from "../src/queue/sweeper";
import { insertJobs, seedAccount, upload } from "./harness";

const ROWS = 260;
const LIMITS = { pageSize: 100, pages: 1 };

/** An env whose queues record what is sent to them instead of delivering it. */
function recordingEnv() {
  const jobs: string[] = [];
  const deliveries: string[] = [];
  const queue = (into: string[], key: "jobId" | "deliveryId") =>
    ({
      send: async (body: Record<string, string>) => void into.push(body[key]!),
      sendBatch: async (messages: { body: Record<string, string> }[]) =>
        void into.push(...messages.map((m) => m.body[key]!)),
    }) as unknown as Queue;
  return {
    env: { ...env, JOBS_QUEUE: queue(jobs, "jobId"), WEBHOOKS_QUEUE: queue(deliveries, "deliveryId") } as Env,
    jobs,
    deliveries,
  };
}

async function insertRows(
  accountId: string,
  fileId: string,
  count: number,
  row: (i: number) => { status: string; enqueuedAt: number; outputKey?: string; outputExpiresAt?: number },
) {
  return insertJobs(
    Array.from({ length: count }, (_, i) => {
      const r = row(i);
      return {
        accountId,
        fileId,
        targetFormat: "txt",
        status: r.status as JobStatus,
        createdAt: r.enqueuedAt,
        enqueuedAt: r.enqueuedAt,
        outputKey: r.outputKey ?? null,
        outputExpiresAt: r.outputExpiresAt ?? null,
      };
    }),
  );
}

async function planOf(sql: string, ...binds: unknown[]): Promise<string> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...binds)
    .all<{ detail: string }>();
  return results.map((r) => r.detail).join(" | ");
}

describe("the sweeper at size", () => {
  it("resends lost job messages measured from their last send, each once per window, over several sweeps", async () => {
    const account = await seedAccount();
    const { file_id } = await upload(account, "docx-header-footer.docx");
    const now = Date.now();
    const old = now - LOST_MESSAGE_AFTER_MS - 60_000;
    const lost = await insertRows(account.accountId, file_id, ROWS, () => ({ status: "Queued", enqueuedAt: old }));
    // Created long ago but sent again a minute ago (a back-pressure re-send): not lost.
    const recent = await insertRows(account.accountId, file_id, 30, () => ({
      status: "Queued",
      enqueuedAt: now - 60_000,
    }));
    await env.DB.prepare(
      `UPDATE jobs SET created_at = ?2 WHERE id IN (${recent.map((_, i) => `?${i + 3}`).join(",")}) AND account_id = ?1`,
    )
      .bind(account.accountId, old, ...recent)
      .run();

    const rec = recordingEnv();
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) counts.push((await sweep(openServices(rec.env), now, LIMITS)).resent);
    expect(counts).toEqual([100, 100, ROWS - 200, 0]);
    expect(new Set(rec.jobs).size).toBe(ROWS);
    expect(rec.jobs.sort()).toEqual([...lost].sort());
    const marked = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1 AND enqueued_at = ?2")
      .bind(account.accountId, now)
      .first<{ n: number }>();
    expect(marked!.n).toBe(ROWS);
    // Still Queued a window later (the recent ones too, by then): each is sent once more.
    const later = recordingEnv();
    let resent = 0;
    for (let i = 0; i < 4; i++)
      resent += (await sweep(openServices(later.env), now + LOST_MESSAGE_AFTER_MS + 1, LIMITS)).resent;
    expect(resent).toBe(ROWS + recent.length);
    expect(new Set(later.jobs).size).toBe(ROWS + recent.length);
  });

  it("deletes expired outputs that are still stored, each once, over several sweeps", async () => {
    const account = await seedAccount();
    const { file_id } = await upload(account, "docx-header-footer.docx");
    const now = Date.now();
    const key = (i: number) => `outputs/${account.accountId}/sweep-${i}/out.txt`;
    await Promise.all(Array.from({ length: ROWS + 20 }, (_, i) => env.BUCKET.put(key(i), `output ${i}`)));
    const expired = await insertRows(account.accountId, file_id, ROWS, (i) => ({
      status: "Succeeded",
      enqueuedAt: now,
      outputKey: key(i),
      outputExpiresAt: now - 1000 - i,
    }));
    const kept = await insertRows(account.accountId, file_id, 20, (i) => ({
      status: "Succeeded",
      enqueuedAt: now,
      outputKey: key(ROWS + i),
      outputExpiresAt: now + 3_600_000,
    }));

    const counts: number[] = [];
    for (let i = 0; i < 4; i++) counts.push((await sweep(openServices(recordingEnv().env), now, LIMITS)).expired);
    expect(counts).toEqual([100, 100, ROWS - 200, 0]);
    const stored = await env.BUCKET.list({ prefix: `outputs/${account.accountId}/sweep-`, limit: 1000 });
    expect(stored.objects.map((o) => o.key).sort()).toEqual(Array.from({ length: 20 }, (_, i) => key(ROWS + i)).sort());
    const rows = await env.DB.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1 AND output_key IS NULL`)
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(rows!.n).toBe(expired.length);
    expect(kept.length).toBe(20);
  });

  it("resends pending webhook deliveries whose message was lost, each once per window, over several sweeps", async () => {
    const account = await seedAccount();
    const now = Date.now();
    const old = now - LOST_MESSAGE_AFTER_MS - 60_000;
    const ids = Array.from(
      { length: ROWS + 30 },
      (_, i) => `dlv_sweep${String(i).padStart(4, "0")}${account.accountId.slice(-6)}`,
    );
    const statements = ids.map((id, i) =>
      env.DB.prepare(
        `INSERT INTO webhook_deliveries (id, account_id, event_id, event_type, job_id, url, status, attempts, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, 'job.succeeded', 'job', 'https://example.com/hook', ?4, 0, ?5, ?5)`,
      ).bind(id, account.accountId, `evt_${id}`, i < ROWS ? "pending" : "delivered", old),
    );
    for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50));

    const rec = recordingEnv();
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) counts.push((await sweep(openServices(rec.env), now, LIMITS)).webhooksResent);
    expect(counts).toEqual([100, 100, ROWS - 200, 0]);
    expect(rec.deliveries.sort()).toEqual(ids.slice(0, ROWS).sort());
  });

  it("deletes uploads left without a files row once past the grace, page by page over several sweeps, keeping the rest", async () => {
    // A request that dies between storing its upload and writing the row (isolate killed, client gone) left the
    // object for ever. Keys of all kinds interleave in the listing, so each page mixes them.
    const account = await seedAccount();
    const real = await upload(account, "docx-header-footer.docx");
    const key = (id: string) => `uploads/${account.accountId}/${id}`;
    const orphans = Array.from({ length: ROWS }, (_, i) => `file_${String(i).padStart(4, "0")}orphan`);
    const withRows = Array.from({ length: 40 }, (_, i) => `file_${String(i * 7).padStart(4, "0")}kept`);
    await Promise.all([...orphans, ...withRows].map((id) => env.BUCKET.put(key(id), "bytes")));
    const rows = withRows.map((id) =>
      env.DB.prepare(
        `INSERT INTO files (id, account_id, filename, bytes, source_format, content_type, purpose, pages, storage_key, created_at)
         VALUES (?1, ?2, 'a.txt', 5, 'txt', 'text/plain', 'conversion', NULL, ?3, ?4)`,
      ).bind(id, account.accountId, key(id), Date.now()),
    );
    await env.DB.batch(rows);
    // Stored later than all of those: younger than the grace at the sweeps' time, so kept though rowless.
    const oldest = Math.max(
      ...(await Promise.all(
        [...orphans, ...withRows].map(async (id) => (await env.BUCKET.head(key(id)))!.uploaded.getTime()),
      )),
    );
    await vi.waitUntil(() => Date.now() > oldest + 2, { interval: 1 });
    const young = Array.from({ length: 20 }, (_, i) => `file_${String(i * 13).padStart(4, "0")}young`);
    await Promise.all(young.map((id) => env.BUCKET.put(key(id), "bytes")));
    const youngest = Math.min(
      ...(await Promise.all(young.map(async (id) => (await env.BUCKET.head(key(id)))!.uploaded.getTime()))),
    );
    expect(youngest).toBeGreaterThan(oldest + 1);
    const now = youngest - 1 + ORPHANED_UPLOAD_AFTER_MS;

    const counts: number[] = [];
    for (let i = 0; i < 5; i++)
      counts.push((await sweep(openServices(recordingEnv().env), now, LIMITS)).orphanedUploads);
    // One page of 100 keys a sweep: the 321 keys take four sweeps, then the scan starts over and finds none.
    expect(counts.slice(0, 4).every((n) => n <= LIMITS.pageSize)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(ROWS);
    expect(counts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(3);
    expect(counts[4]).toBe(0);
    const stored = await env.BUCKET.list({ prefix: `uploads/${account.accountId}/`, limit: 1000 });
    expect(stored.objects.map((o) => o.key).sort()).toEqual([real.file_id, ...withRows, ...young].map(key).sort());
    // Past the grace for the young ones too: they go, the rest stays.
    let later = 0;
    for (let i = 0; i < 3; i++)
      later += (await sweep(openServices(recordingEnv().env), now + 60_000, LIMITS)).orphanedUploads;
    expect(later).toBe(young.length);
    expect((await env.BUCKET.list({ prefix: `uploads/${account.accountId}/`, limit: 1000 })).objects.length).toBe(
      1 + withRows.length,
    );
    expect(await env.BUCKET.head(ORPHAN_SCAN_POSITION_KEY)).toBeNull();
  });

  it("reads each scan through an index of the rows it can act on, never the whole table", async () => {
    const plans = [
      [
        await planOf(STALE_QUEUED_SQL, 0, 100),
        "SEARCH jobs USING INDEX jobs_status_enqueued (status=? AND enqueued_at<?)",
      ],
      [await planOf(EXPIRED_OUTPUTS_SQL, 0, 100), "SEARCH jobs USING INDEX jobs_output_expiry (output_expires_at<?)"],
      [
        await planOf(LOST_DELIVERIES_SQL, 0, null, 100),
        "SEARCH webhook_deliveries USING INDEX webhook_deliveries_pending (next_attempt_at<?)",
      ],
      [
        await planOf(storedUploadsSql(3), "file_a", "file_b", "file_c"),
        "SEARCH files USING INDEX sqlite_autoindex_files_1 (id=?)",
      ],
    ];
    // The index order is the ORDER BY: no temporary sort either.
    for (const [plan, expected] of plans) expect(plan).toBe(expected);
  });
});
