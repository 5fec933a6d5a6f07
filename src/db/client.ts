import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof openDb>;
/** D1 as a binding or as a session (read replication: sessions.ts). */
export type D1 = D1Database | D1DatabaseSession;

export function openDb(d1: D1) {
  return drizzle(d1 as D1Database, { schema });
}

/** Whether D1 answers a trivial read (GET /health). */
export async function pingDatabase(d1: D1Database): Promise<boolean> {
  try {
    return (await d1.prepare("SELECT 1 AS ok").first<{ ok: number }>())?.ok === 1;
  } catch {
    return false;
  }
}
