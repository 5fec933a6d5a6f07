// The converter's state for operators (GET /v1/converter), without side effects: in production each named
// container's Durable Object is asked for its state, and only a container already running is asked for its
// converter's /health; locally the process at CONVERTER_URL is asked.
import { containerStates } from "./container-transport";

export interface ConverterInstanceStatus {
  name: string;
  /** The container library's state: stopped, running (starting), healthy, stopping, stopped_with_code. */
  status: string;
  since: string | null;
  /** The converter's own /health (instances, queue), or null when it was not running. */
  converter: unknown;
}

export interface ConverterStatus {
  transport: "url" | "container";
  running: number;
  containers: ConverterInstanceStatus[];
}

export async function converterStatus(env: Env): Promise<ConverterStatus> {
  if (env.CONVERTER_URL) {
    const local = await localStatus(env.CONVERTER_URL, (env as { CONVERTER_SECRET?: string }).CONVERTER_SECRET);
    return { transport: "url", running: local.status === "stopped" ? 0 : 1, containers: [local] };
  }
  const containers = (await containerStates(env)).map((c) => ({
    name: c.name,
    status: c.state.status,
    since: c.state.lastChange ? new Date(c.state.lastChange).toISOString() : null,
    converter: c.converter,
  }));
  return {
    transport: "container",
    running: containers.filter((c) => c.status === "healthy" || c.status === "running").length,
    containers,
  };
}

async function localStatus(baseUrl: string, secret: string | undefined): Promise<ConverterInstanceStatus> {
  try {
    const res = await fetch(`${baseUrl.replace(/\/$/, "")}/health`, {
      headers: secret ? { "X-Converter-Secret": secret } : {},
      signal: AbortSignal.timeout(3000),
    });
    const body = await res.json().catch(() => null);
    return { name: "local", status: res.ok ? "healthy" : "running", since: null, converter: body };
  } catch (err) {
    return {
      name: "local",
      status: "stopped",
      since: null,
      converter: { status: "unreachable", detail: (err as Error).message },
    };
  }
}
