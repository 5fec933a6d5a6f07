// Production transport: the converter image as a Cloudflare Container. Requests spread over a fixed set of
// named instances; each instance's pool bounds its own concurrency and answers 503 when full.
//
// What `getContainer(…).fetch()` answers, read from @cloudflare/containers 0.3.7 (`containerFetch`):
// - the container's own response once it is running and its port answers;
// - 503, plain text "There is no Container instance available at this time…", when no instance came up
//   within the library's wait (~8 s): first provisioning, a rollout, or max_instances reached;
// - 429, plain text, when the account starts containers too fast;
// - 500 "Failed to start container: …" when starting failed otherwise (the port did not listen within ~20 s,
//   the instance exited while starting);
// - 500 "Container suddenly disconnected, try again" / "Error proxying request to container: …" when the
//   connection broke while the container had the request;
// - a thrown error when the Durable Object hop itself failed (reset by a deploy, overloaded).
// src/converter/client.ts sorts these into back-pressure (nothing took the document) and faults.
import { Container, getContainer, type State } from "@cloudflare/containers";
import { type ConverterTransport, ConverterUnavailable } from "./client";

export class Converter extends Container<Env> {
  defaultPort = 8080;
  sleepAfter = "10m";
  // Inside, a pool of LibreOffice processes (one per vCPU of standard-3) with a short wait queue; see
  // container/README.md for these knobs and README "Capacity" for how they fit the queue consumer.
  envVars: Record<string, string> = { CONVERTER_PORT: "8080", CONVERTER_INSTANCES: "2", CONVERTER_MAX_QUEUE: "4" };
  // The converter reaches nothing outside: documents come in the request, results go back in the response.
  enableInternet = false;
  // The library probes `http://<pingEndpoint>`: host "container", path /health (liveness, no secret needed).
  pingEndpoint = "container/health";

  // biome-ignore lint/complexity/noBannedTypes: the Container base class is declared with DurableObjectState<{}>
  constructor(ctx: DurableObjectState<{}>, env: Env) {
    super(ctx, env);
    // The converter answers 401 to any request without this shared secret (a Worker secret: README "Deploying").
    this.envVars = { ...this.envVars, CONVERTER_SECRET: env.CONVERTER_SECRET };
  }

  /**
   * The instance's state and, when it is running, its converter's own /health (instances, queue) — read
   * straight from the port, never through `containerFetch`, which would start a stopped container. Calling this
   * wakes the Durable Object, not the container, and does not extend its `sleepAfter`.
   */
  async converterState(): Promise<ContainerState> {
    const state = await this.getState();
    const container = this.ctx.container;
    if (!container?.running || state.status !== "healthy") return { state, converter: null };
    try {
      const secret = (this.env as { CONVERTER_SECRET?: string }).CONVERTER_SECRET;
      const res = await container.getTcpPort(this.defaultPort).fetch("http://container/health", {
        headers: secret ? { "X-Converter-Secret": secret } : {},
        signal: AbortSignal.timeout(3000),
      });
      return { state, converter: await res.json().catch(() => ({ status: `answered ${res.status}` })) };
    } catch (err) {
      return { state, converter: { status: "unreachable", detail: (err as Error).message } };
    }
  }
}

export interface ContainerState {
  state: State;
  /** The converter's /health body; null when the container is not running (nothing was started to ask). */
  converter: unknown;
}

export function containerCount(env: Env): number {
  return Math.max(1, Number(env.CONVERTER_CONTAINERS) || 1);
}

export const containerName = (slot: number) => `converter-${slot}`;

function converterNamespace(env: Env): DurableObjectNamespace<Converter> {
  return env.CONVERTER as unknown as DurableObjectNamespace<Converter>;
}

export function containerTransport(env: Env): ConverterTransport {
  const instances = containerCount(env);
  return async (request) => {
    const slot = Math.floor(Math.random() * instances);
    try {
      return await getContainer(converterNamespace(env), containerName(slot)).fetch(request);
    } catch (err) {
      const name = (err as Error)?.name;
      if (name === "TimeoutError" || name === "AbortError") throw err;
      // The Durable Object in front of the container failed (reset by a deploy, overloaded): the request
      // did not reach a converter.
      throw new ConverterUnavailable(`${containerName(slot)}: ${(err as Error)?.message ?? String(err)}`);
    }
  };
}

/** Every named container's state, asked of its Durable Object; none is started by asking. */
export async function containerStates(env: Env): Promise<({ name: string } & ContainerState)[]> {
  const ns = converterNamespace(env);
  return Promise.all(
    Array.from({ length: containerCount(env) }, async (_, slot) => {
      const name = containerName(slot);
      try {
        const reply = (await getContainer(ns, name).converterState()) as ContainerState;
        return { name, state: reply.state, converter: reply.converter };
      } catch (err) {
        return {
          name,
          state: { status: "stopped" as const, lastChange: 0 },
          converter: { status: "unreachable", detail: (err as Error).message },
        };
      }
    }),
  );
}
