// What the domain works with: the Worker's bindings, D1 (through drizzle and as raw statements) and, for a
// request, its origin. Built here only, once for a request (app.ts), a queue batch and a cron run (index.ts),
// and over a D1 session where a path must read its own writes (renditions.ts).
import { type D1, type Db, openDb, pingDatabase } from "../db/client";

export interface Services {
  env: Env;
  db: Db;
  d1: D1;
  /** The origin of the request being served (https://…), stored on the jobs it admits. */
  origin?: string;
}

export function openServices(env: Env, opts: { d1?: D1; origin?: string } = {}): Services {
  const d1 = opts.d1 ?? env.DB;
  return { env, db: openDb(d1), d1, ...(opts.origin ? { origin: opts.origin } : {}) };
}

/** Whether D1 answers a trivial read (GET /health). */
export function databaseAnswers(svc: Services): Promise<boolean> {
  return pingDatabase(svc.env.DB);
}
