// A Durable Object per job that requests wait on until the job ends (see routes for renditions).
import { DurableObject } from "cloudflare:workers";

export class JobWaiter extends DurableObject<Env> {}
