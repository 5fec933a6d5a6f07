// GET /health (public, the Worker and D1 only) and GET /v1/converter (the converter's state, with a key),
// locally: the converter is the process at CONVERTER_URL. The container path is in test/container-path/.

import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { BASE, seedAccount } from "./harness";

const unreachable = { ...env, CONVERTER_URL: "http://127.0.0.1:9" } as Env;

describe("GET /health", () => {
  it("answers for the API and D1 without a key", async () => {
    const res = await exports.default.fetch(new Request(`${BASE}/health`));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", api: "ok", database: "ok" });
  });

  it("does not depend on the converter: it answers the same while none is reachable", async () => {
    const res = await worker.fetch!(
      new Request(`${BASE}/health`) as Request<unknown, IncomingRequestCfProperties>,
      unreachable,
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", api: "ok", database: "ok" });
  });
});

describe("GET /v1/converter", () => {
  it("needs an API key", async () => {
    const res = await exports.default.fetch(new Request(`${BASE}/v1/converter`));
    expect(res.status).toBe(401);
    expect((await res.json<{ error: string }>()).error).toBe("auth.missing_key");
  });

  it("reports the local converter's instances and queue", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/converter");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      transport: "url",
      running: 1,
      containers: [{ name: "local", status: "healthy", converter: { status: "ok", queued: 0 } }],
    });
    expect(res.body.containers[0].converter.instances.total).toBeGreaterThanOrEqual(1);
  });

  it("reports a local converter that does not answer as stopped", async () => {
    const account = await seedAccount();
    const res = await worker.fetch!(
      new Request(`${BASE}/v1/converter`, { headers: { "x-api-key": account.key } }) as Request<
        unknown,
        IncomingRequestCfProperties
      >,
      unreachable,
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      transport: "url",
      running: 0,
      containers: [{ name: "local", status: "stopped", converter: { status: "unreachable" } }],
    });
  });
});
