// Production transport: the converter image as a Cloudflare Container. Requests spread over a fixed set of
// named instances; each instance's pool bounds its own concurrency and answers 503 when full.
import { Container, getContainer } from "@cloudflare/containers";
import type { ConverterTransport } from "./client";

export class Converter extends Container<Env> {
  defaultPort = 8080;
  sleepAfter = "10m";
  // Inside, a pool of LibreOffice processes (one per vCPU of standard-3) with a short wait queue; see
  // container/README.md for these knobs and README "Capacity" for how they fit the queue consumer.
  envVars = { CONVERTER_PORT: "8080", CONVERTER_INSTANCES: "2", CONVERTER_MAX_QUEUE: "4" };
  pingEndpoint = "health";
}

export function containerTransport(env: Env): ConverterTransport {
  const instances = Math.max(1, Number(env.CONVERTER_CONTAINERS) || 1);
  return (request) => {
    const slot = Math.floor(Math.random() * instances);
    return getContainer(env.CONVERTER as unknown as DurableObjectNamespace<Converter>, `converter-${slot}`).fetch(request);
  };
}
