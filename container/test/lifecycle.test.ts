// Rollouts: SIGTERM lets in-flight conversions finish (the grace outlasts the longest conversion) while new
// requests hear 503 convert.busy with Retry-After; and the timeouts are ordered for the Worker.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../src/config.ts";
import { convert, fixture } from "./helpers.ts";
import { startTestServer, TEST_SECRET, type TestServer, waitForHealth } from "./server-process.ts";

describe("defaults", () => {
  test("queue wait + conversion timeout stay under the Worker's request timeout (wrangler.toml: 180 s, room for the transfer), and the SIGTERM grace covers both", () => {
    const config = loadConfig({});
    expect(config.host).toBe("127.0.0.1");
    expect(config.queueTimeoutMs).toBeLessThanOrEqual(20_000);
    const workerTimeoutMs =
      Number(
        /^CONVERTER_REQUEST_TIMEOUT_SECONDS = "(\d+)"/m.exec(
          readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8"),
        )![1],
      ) * 1000;
    expect(config.queueTimeoutMs + config.timeoutMs).toBeLessThanOrEqual(workerTimeoutMs - 30_000);
    expect(config.shutdownGraceMs).toBeGreaterThanOrEqual(150_000);
    expect(config.shutdownGraceMs).toBeGreaterThanOrEqual(config.queueTimeoutMs + config.timeoutMs);
  });
});

describe("SIGTERM", () => {
  let server: TestServer;
  let stopped = false;
  beforeAll(async () => {
    server = await startTestServer({ CONVERTER_INSTANCES: "1", CONVERTER_SHUTDOWN_GRACE_MS: "60000" });
  });
  afterAll(async () => {
    if (!stopped) await server.stop();
  });

  test("in-flight work finishes on its own terms, new requests get 503 convert.busy, then the server exits clean", async () => {
    // LibreOffice never finishes this one: it ends at its own 6 s timeout, not at the shutdown.
    const inFlight = convert(fixture("hostile-dos.ods"), { to: "pdf", timeout: 6 }, server.url);
    await waitForHealth(server, (h) => h.instances.busy === 1, "the conversion to start");
    process.kill(server.pid, "SIGTERM");
    await waitForHealth(server, (h) => h.status === "stopping", "draining");

    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    const refused = await convert(fixture("docx-header-footer.docx"), { to: "pdf" }, server.url);
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ error: "convert.busy" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Still authenticated while draining.
    expect((await fetch(`${server.url}/formats`)).status).toBe(401);
    expect((await fetch(`${server.url}/formats`, { headers: { "X-Converter-Secret": TEST_SECRET } })).status).toBe(503);

    const finished = await inFlight;
    expect(finished.status).toBe(504);
    expect(finished.json).toMatchObject({ error: "convert.timeout" });
    stopped = true;
    expect(await server.stop()).toEqual({ processes: [], files: [], exitCode: 0 });
  });
});
