import type { Caller } from "./auth/scope";
import type { Db } from "./db/client";

/** Hono's environment for every route: the Worker bindings and per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: { db: Db; caller: Caller };
}
