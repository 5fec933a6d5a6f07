import type { Caller } from "./auth/scope";
import type { Services } from "./domain/services";

/** Hono's environment for every route: the Worker bindings and per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: { svc: Services; caller: Caller };
}
