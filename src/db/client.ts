import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof openDb>;

export function openDb(d1: D1Database | D1DatabaseSession) {
  return drizzle(d1 as D1Database, { schema });
}

export const nowMs = () => Date.now();

/** Whether D1 answers a trivial read (GET /health). */
export async function pingDatabase(d1: D1Database): Promise<boolean> {
  try {
    return (await d1.prepare("SELECT 1 AS ok").first<{ ok: number }>())?.ok === 1;
  } catch {
    return false;
  }
}
