// The Converter container class as production runs it, with the one part the Workers test runtime cannot
// provide played by a stand-in: the platform's container (`ctx.container`), whose port is the real converter
// process started by test/global-setup.ts. Everything above it is the real code: src/converter/
// container-transport.ts and @cloudflare/containers' own `fetch` → `containerFetch` → start, port checks and
// proxying, so what the Worker receives in each case (its plain-text 503/429/500, a disconnect) is what the
// library answers, not a copy of it.
//
// Tests script the platform through RPC on the Durable Object (`script`, `stopContainer`, `stats`):
//   start:    what the next start() calls do: "no-instance" (the platform has no instance to give: the library
//             answers 503), "rate-limited" (429), "start-error" (500 Failed to start container)
//   requests: what the next proxied requests meet: "busy" (the converter's own 503 convert.busy envelope, as
//             its pool answers when full), "disconnect" (the connection drops mid-request), "do-error" (the
//             Durable Object hop itself throws, as when a deploy resets it)
//   coldStartMs: after a start, the port refuses connections this long (an instance booting)
import { Converter } from "../../src/converter/container-transport";

type StartStep = "no-instance" | "rate-limited" | "start-error";
type RequestStep = "busy" | "disconnect" | "do-error";

export interface Script {
  start?: StartStep[];
  requests?: RequestStep[];
  coldStartMs?: number;
}

export interface StandInStats {
  starts: number;
  startAttempts: number;
  requests: number;
  running: boolean;
}

// The messages the platform's errors carry, which the library matches on (container.js constants).
const PLATFORM_ERRORS: Record<StartStep, string> = {
  "no-instance": "there is no container instance that can be provided to this durable object",
  "rate-limited": "you are requesting too many containers per second",
  "start-error": "container exited with unexpected exit code: 1",
};

/** The platform's container API (workerd's `Container`) over a local converter process. */
class LocalContainer {
  running = false;
  script: Required<Script> = { start: [], requests: [], coldStartMs: 0 };
  stats = { starts: 0, startAttempts: 0, requests: 0 };
  #listeningAt = 0;
  #exit: { promise: Promise<void>; resolve: () => void } | null = null;
  readonly #converterUrl: string;

  constructor(converterUrl: string) {
    this.#converterUrl = converterUrl.replace(/\/$/, "");
  }

  start(_options?: unknown): void {
    this.stats.startAttempts++;
    const step = this.script.start.shift();
    if (step) throw new Error(PLATFORM_ERRORS[step]);
    this.stats.starts++;
    this.running = true;
    this.#listeningAt = Date.now() + this.script.coldStartMs;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#exit = { promise, resolve };
  }

  monitor(): Promise<void> {
    return this.#exit?.promise ?? Promise.resolve();
  }

  signal(_signo: number): void {
    this.stop();
  }

  async destroy(): Promise<void> {
    this.stop();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.#exit?.resolve();
  }

  async setInactivityTimeout(): Promise<void> {}

  getTcpPort(_port: number) {
    return { fetch: (input: string | Request, init?: RequestInit) => this.#portFetch(input, init) };
  }

  async #portFetch(input: string | Request, init?: RequestInit): Promise<Response> {
    if (!this.running) throw new Error("the container is not running");
    // Before the server listens, a connection is refused; workerd reports it like this.
    if (Date.now() < this.#listeningAt) throw new Error("Network connection lost.");
    const request = new Request(input, init);
    const url = new URL(request.url);
    // Conversions meet the script; the library's start probes and health checks reach the converter as they are.
    if (url.pathname === "/convert") {
      this.stats.requests++;
      const step = this.script.requests[0] === "do-error" ? undefined : this.script.requests.shift();
      if (step === "busy") {
        await request.body?.cancel();
        return Response.json(
          { error: "convert.busy", detail: "all instances are busy and the queue is full" },
          { status: 503, headers: { "Retry-After": "1" } },
        );
      }
      if (step === "disconnect") {
        await request.body?.cancel();
        throw new Error("Network connection lost.");
      }
    }
    return fetch(new Request(`${this.#converterUrl}${url.pathname}${url.search}`, request));
  }
}

export class ConverterStandIn extends Converter {
  readonly local: LocalContainer;

  // biome-ignore lint/complexity/noBannedTypes: the Container base class is declared with DurableObjectState<{}>
  constructor(ctx: DurableObjectState<{}>, env: Env) {
    const local = new LocalContainer((env as unknown as { STAND_IN_CONVERTER_URL: string }).STAND_IN_CONVERTER_URL);
    // ctx as the platform gives a container-enabled Durable Object: the same state, with `container`.
    Object.defineProperty(ctx, "container", { value: local, configurable: true });
    super(ctx, env);
    this.local = local;
  }

  // The library's alarm loop keeps a running container's Durable Object awake for up to 3 minutes at a time
  // to enforce sleepAfter; tests do not exercise sleeping, and a pending alarm would outlive the test run.
  override async alarm(): Promise<void> {}

  override async fetch(request: Request): Promise<Response> {
    if (this.local.script.requests[0] === "do-error") {
      this.local.script.requests.shift();
      this.local.stats.requests++;
      throw new Error("Durable Object reset because its code was updated.");
    }
    return super.fetch(request);
  }

  script(script: Script): void {
    this.local.script = {
      start: [...(script.start ?? [])],
      requests: [...(script.requests ?? [])],
      coldStartMs: script.coldStartMs ?? 0,
    };
  }

  async stopContainer(): Promise<void> {
    await this.stop();
  }

  stats(): StandInStats {
    return { ...this.local.stats, running: this.local.running };
  }
}
