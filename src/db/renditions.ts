// Rendition cache rows and the reads behind them. Raw D1 statements: the cache-hit path is one prepared
// statement (renditions joined to their job), and the writes join an admission batch so that a lost race
// rolls the whole batch back — the debit included.
import type { D1 } from "./client";
import type { JobRow } from "./jobs";
import type { JobStatus } from "./schema";

/** A rendition's job, as much of it as serving or judging a cached rendition needs. */
export interface RenditionJob {
  jobId: string;
  accountId: string;
  status: JobStatus;
  sourceFormat: string;
  targetFormat: string;
  outputKey: string | null;
  outputFileName: string | null;
  outputContentType: string | null;
  outputExpiresAt: number | null;
  errorCode: string | null;
  errorDetail: string | null;
}

const JOB_COLUMNS = `j.id AS jobId, j.account_id AS accountId, j.status, j.source_format AS sourceFormat,
  j.target_format AS targetFormat, j.output_key AS outputKey, j.output_file_name AS outputFileName,
  j.output_content_type AS outputContentType, j.output_expires_at AS outputExpiresAt,
  j.error_code AS errorCode, j.error_detail AS errorDetail`;

/** The cached rendition of this key for this account, with its job's state: one indexed lookup and a join. */
export function findRendition(d1: D1, cacheKey: string, accountId: string): Promise<RenditionJob | null> {
  return d1
    .prepare(
      `SELECT ${JOB_COLUMNS} FROM renditions r JOIN jobs j ON j.id = r.job_id WHERE r.cache_key = ?1 AND r.account_id = ?2`,
    )
    .bind(cacheKey, accountId)
    .first<RenditionJob>();
}

export function findRenditionJob(d1: D1, jobId: string): Promise<RenditionJob | null> {
  return d1.prepare(`SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.id = ?1`).bind(jobId).first<RenditionJob>();
}

export interface RenditionRow {
  cacheKey: string;
  accountId: string;
  sourceKind: "file" | "run";
  sourceId: string;
  format: string;
  jobId: string;
  createdAt: number;
}

/**
 * Statements that point the cache key at a new job. With no previous job, a plain insert: a concurrent
 * identical miss collides on the primary key. Replacing a failed job deletes the row only while it still
 * points at that job, so a concurrent replacement makes this insert collide the same way.
 */
export function claimRenditionStatements(
  d1: D1,
  row: RenditionRow,
  replacingJobId: string | null,
): D1PreparedStatement[] {
  const insert = d1
    .prepare(
      `INSERT INTO renditions (cache_key, account_id, source_kind, source_id, format, job_id, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
    )
    .bind(row.cacheKey, row.accountId, row.sourceKind, row.sourceId, row.format, row.jobId, row.createdAt);
  if (replacingJobId === null) return [insert];
  return [
    d1.prepare(`DELETE FROM renditions WHERE cache_key = ?1 AND job_id = ?2`).bind(row.cacheKey, replacingJobId),
    insert,
  ];
}

export const runOutputFileId = (runId: string) => `file_run_${runId.replace(/-/g, "")}`;

/** The run a run-output file was registered for (the inverse of runOutputFileId), or null for any other id. */
export function runIdOfOutputFile(fileId: string): string | null {
  const hex = /^file_run_([0-9a-f]{32})$/.exec(fileId)?.[1];
  return hex
    ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    : null;
}

/**
 * Registers a run's output as a file of the run's account (once: the id follows from the run's), pointing at
 * the output's own R2 object, so exporting a run is converting a file. `pages` is the output's exact count.
 */
export async function registerRunOutputFile(d1: D1, run: JobRow, pages: number | null, now: number): Promise<string> {
  const id = runOutputFileId(run.id);
  await d1
    .prepare(
      `INSERT INTO files (id, account_id, filename, bytes, source_format, content_type, purpose, pages, storage_key, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'run-output', ?7, ?8, ?9)
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(
      id,
      run.accountId,
      run.outputFileName,
      run.outputBytes ?? 0,
      run.targetFormat,
      run.outputContentType,
      pages,
      run.outputKey,
      now,
    )
    .run();
  return id;
}
