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
