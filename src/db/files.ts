import { eq } from "drizzle-orm";
import type { Db } from "./client";
import { files } from "./schema";

export type FileRow = typeof files.$inferSelect;

export function findFile(db: Db, id: string) {
  return db.query.files.findFirst({ where: eq(files.id, id) });
}

export async function insertFile(db: Db, row: FileRow): Promise<void> {
  await db.insert(files).values(row);
}

/** Removes an upload that no job refers to (a refused submission's own upload). */
export async function deleteFile(env: Env, db: Db, file: FileRow): Promise<void> {
  await db.delete(files).where(eq(files.id, file.id));
  await env.BUCKET.delete(file.storageKey);
}

/** The storage keys of the `files` rows among `ids`: by primary key, at most 100 ids (D1's bound parameters). */
export const storedUploadsSql = (count: number) =>
  `SELECT storage_key AS storageKey FROM files WHERE id IN (${Array.from({ length: count }, (_, i) => `?${i + 1}`).join(",")})`;

export async function storedUploadKeys(d1: D1Database, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { results } = await d1
    .prepare(storedUploadsSql(ids.length))
    .bind(...ids)
    .all<{ storageKey: string }>();
  return new Set(results.map((r) => r.storageKey));
}
