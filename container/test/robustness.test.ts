// Timeouts that kill, back-pressure, recycling and clean shutdown — on a server of its own (two instances, a
// one-slot queue, recycling after a few conversions, a small body limit). Crash retries: crash-retry.test.ts.
import { existsSync, readdirSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sofficePipes } from "../src/engine/leftovers.ts";
import { convert, fixture, isPdf, pdfPages } from "./helpers.ts";
import {
  health as healthOf,
  sofficePids as sofficePidsOf,
  startTestServer,
  TEST_SECRET,
  type TestServer,
  waitForHealth,
} from "./server-process.ts";

let server: TestServer;
let stopped = false;

beforeAll(async () => {
  server = await startTestServer({
    CONVERTER_INSTANCES: "2",
    CONVERTER_MAX_QUEUE: "1",
    CONVERTER_MAX_CONVERSIONS: "4",
    CONVERTER_MAX_BYTES: "1000000",
    // A queued request waits out two killed instances' replacements, however slow a loaded machine starts them.
    CONVERTER_QUEUE_TIMEOUT_MS: "90000",
  });
});

afterAll(async () => {
  if (!stopped) await server.stop();
});

const docx = fixture("docx-header-footer.docx");
const looping = fixture("hostile-dos.ods"); // LibreOffice never finishes loading it

const health = () => healthOf(server);
const waitFor = (predicate: (h: any) => boolean, what: string) => waitForHealth(server, predicate, what);
const sofficePids = () => sofficePidsOf(server);

const fullStrength = (h: any) => h.instances.ready === 2 && h.instances.starting === 0;
const allIdle = () => waitFor((h) => fullStrength(h) && h.instances.busy === 0 && h.queued === 0, "two idle instances");

describe("robustness", () => {
  test("LibreOffice's sockets are where leftovers.ts expects them, or in a private /tmp (so a kill leaves none)", async () => {
    const { isolation } = await allIdle();
    const [root] = readdirSync(server.tempDir).filter((d) => d.startsWith("docconv-"));
    const instances = readdirSync(join(server.tempDir, root!)).filter((d) => d.startsWith("instance-"));
    expect(instances).toHaveLength(2);
    const ours = readdirSync("/tmp").filter((f) => f.startsWith("OSL_PIPE_") && f.includes(`docconv_${server.pid}_`));
    if (isolation === "bwrap+uid" || isolation === "bwrap") {
      // Each sandbox has a /tmp of its own: nothing of ours in the host's.
      expect(ours).toEqual([]);
    } else {
      const uid = statSync(join(server.tempDir, root!, instances[0]!)).uid;
      const pipes = sofficePipes(join(server.tempDir, root!, instances[0]!, "profile"), undefined, uid);
      expect(
        pipes.some((pipe) => existsSync(pipe)),
        pipes.join(", "),
      ).toBe(true);
    }
  });

  test("a conversion past its timeout is killed and replaced while another request succeeds", async () => {
    await allIdle();
    const before = sofficePids();
    expect(before).toHaveLength(2);
    let stuckDone = false;
    const stuck = convert(looping, { to: "pdf", timeout: 4 }, server.url).finally(() => (stuckDone = true));
    await waitFor((h) => h.instances.busy === 1, "the stuck conversion to start");
    const normal = await convert(docx, { to: "pdf" }, server.url);
    expect(normal.status).toBe(200);
    expect(pdfPages(normal.body)).toBe(2);
    expect(stuckDone).toBe(false); // served by the other instance while the first one is stuck

    const failed = await stuck;
    expect(failed.status).toBe(504);
    expect(failed.json).toMatchObject({ error: "convert.timeout" });
    const after = await waitFor((h) => fullStrength(h) && h.timedOut === 1, "the replacement");
    expect(after.instances.total).toBe(2);
    const now = sofficePids();
    expect(now).toHaveLength(2);
    expect(before.filter((pid) => !now.includes(pid))).toHaveLength(1); // exactly one soffice was replaced
  });

  test("a client that goes away mid-conversion frees its instance at once: the next request is served long before the timeout", async () => {
    await allIdle();
    const before = sofficePids();
    const timeout = 120; // far beyond this test: only the kill on disconnect can free an instance in time
    const abandon = (signal: AbortSignal) =>
      fetch(`${server.url}/convert?to=pdf&timeout=${timeout}`, {
        method: "POST",
        body: looping as Uint8Array<ArrayBuffer>,
        headers: { "Content-Type": "application/octet-stream", "X-Converter-Secret": TEST_SECRET },
        signal,
      }).catch((error: Error) => error.name);
    const first = new AbortController();
    const second = new AbortController();
    const gone = [abandon(first.signal), abandon(second.signal)];
    await waitFor((h) => h.instances.busy === 2, "both instances busy with the looping document");
    const started = Date.now();
    const queued = convert(docx, { to: "pdf" }, server.url);
    await waitFor((h) => h.queued === 1, "the next request queued behind them");

    first.abort();
    const served = await queued;
    expect(served.status).toBe(200);
    expect(pdfPages(served.body)).toBe(2);
    expect(Date.now() - started).toBeLessThan((timeout * 1000) / 2);
    // Served by the freed instance's replacement while the other looping document still holds its instance.
    const during = await health();
    expect(during).toMatchObject({ canceled: 1, instances: { busy: 1 } });

    second.abort();
    expect(await Promise.all(gone)).toEqual(["AbortError", "AbortError"]);
    const after = await waitFor(
      (h) => fullStrength(h) && h.canceled === 2 && h.instances.busy === 0,
      "two replacements",
    );
    expect(after.timedOut).toBe(1); // the earlier test's: no conversion ran into its timeout here
    const now = sofficePids();
    expect(now).toHaveLength(2);
    expect(before.filter((pid) => now.includes(pid))).toEqual([]); // both soffice processes were killed
  });

  test("when every instance is busy and the queue is full, requests get 503 convert.busy with Retry-After", async () => {
    await allIdle();
    const stuck = [1, 2].map(() => convert(looping, { to: "pdf", timeout: 3 }, server.url));
    await waitFor((h) => h.instances.busy === 2, "both instances busy");
    const queued = convert(docx, { to: "pdf" }, server.url);
    await waitFor((h) => h.queued === 1, "one queued request");

    const refused = await convert(docx, { to: "pdf" }, server.url);
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ error: "convert.busy" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);

    for (const res of await Promise.all(stuck)) expect(res.status).toBe(504);
    // The queued request waits for a replacement instance instead of failing.
    const served = await queued;
    expect(served.status).toBe(200);
    expect(isPdf(served.body)).toBe(true);
  });

  test("bodies over CONVERTER_MAX_BYTES are refused with 413, with or without Content-Length", async () => {
    const big = Buffer.alloc(1_200_000, "a"); // against a 1 MB limit
    const declared = await convert(big, { to: "pdf" }, server.url);
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ error: "convert.input_too_large" });

    const streamed = await fetch(`${server.url}/convert?to=pdf`, {
      method: "POST",
      headers: { "X-Converter-Secret": TEST_SECRET },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < big.length; i += 65536) controller.enqueue(new Uint8Array(big.subarray(i, i + 65536)));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: "convert.input_too_large" });
  });

  test("a refused upload is read to its end, not reset: the client finishes sending, hears the 413, and the connection serves the next request", async () => {
    // One raw connection, driven step by step: the refusal comes from the headers, before any body byte.
    const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
    const conversation = rawConversation(socket);
    await conversation.connected;
    const body = Buffer.alloc(1_200_000, "a"); // against a 1 MB limit
    socket.write(
      `POST /convert?to=pdf HTTP/1.1\r\nHost: converter\r\nX-Converter-Secret: ${TEST_SECRET}\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const refusal = await conversation.nextResponse();
    expect(refusal).toMatch(/^HTTP\/1\.1 413 /);
    expect(refusal).toContain("convert.input_too_large");
    expect(refusal.toLowerCase()).not.toContain("connection: close");
    // The client goes on sending the body it announced: the server reads it rather than resetting the connection.
    await new Promise<void>((resolve, reject) => socket.write(body, (error) => (error ? reject(error) : resolve())));
    socket.write("GET /health HTTP/1.1\r\nHost: converter\r\n\r\n");
    expect(await conversation.nextResponse()).toMatch(/^HTTP\/1\.1 200 /);
    socket.end();
  });

  test("instances are recycled after CONVERTER_MAX_CONVERSIONS without failing a request", async () => {
    await allIdle();
    const before = await health();
    const pidsBefore = sofficePids();
    for (let i = 0; i < 8; i++) {
      const res = await convert(docx, { to: "pdf" }, server.url);
      expect(res.status).toBe(200);
    }
    const after = await waitFor(fullStrength, "recycled instances back");
    expect(after.recycled - before.recycled).toBeGreaterThanOrEqual(2);
    expect(sofficePids().filter((pid) => pidsBefore.includes(pid))).toHaveLength(0);
  });

  test("SIGTERM stops the server and leaves no process and no file behind", async () => {
    const left = await server.stop();
    stopped = true;
    expect(left).toEqual({ processes: [], files: [], exitCode: 0 });
  });
});

/**
 * Reads HTTP/1.1 responses (with Content-Length) off a raw socket one at a time; a connection that closes or
 * fails before the next response rejects it.
 */
function rawConversation(socket: Socket) {
  let buffer = "";
  let waiting: { resolve: (r: string) => void; reject: (e: Error) => void } | undefined;
  let ended: Error | undefined;
  const take = () => {
    if (!waiting) return;
    const head = buffer.indexOf("\r\n\r\n");
    if (head >= 0) {
      const length = Number(/content-length:\s*(\d+)/i.exec(buffer.slice(0, head))?.[1] ?? 0);
      if (buffer.length >= head + 4 + length) {
        const response = buffer.slice(0, head + 4 + length);
        buffer = buffer.slice(head + 4 + length);
        const w = waiting;
        waiting = undefined;
        return w.resolve(response);
      }
    }
    if (ended) {
      const w = waiting;
      waiting = undefined;
      w.reject(ended);
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("latin1");
    take();
  });
  socket.on("error", (error) => {
    ended ??= error;
    take();
  });
  socket.on("close", () => {
    ended ??= new Error("the server closed the connection");
    take();
  });
  return {
    connected: new Promise<void>((resolve) => socket.once("connect", () => resolve())),
    nextResponse: () =>
      new Promise<string>((resolve, reject) => {
        waiting = { resolve, reject };
        take();
      }),
  };
}
