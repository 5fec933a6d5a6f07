// JSON and URL-encoded bodies are small: every route refuses one over MAX_FIELDS_BODY_BYTES with 413
// request.too_large before parsing it, with or without Content-Length.
import { describe, expect, it } from "vitest";
import { MAX_FIELDS_BODY_BYTES } from "../src/body-limits";
import { balance, parkedJob, seedAccount, type TestAccount } from "./harness";

const OVER = MAX_FIELDS_BODY_BYTES + 1;

/** A valid-looking JSON object of exactly `bytes` bytes (a long string field). */
function jsonOf(bytes: number, fields: Record<string, unknown> = {}): string {
  const head = JSON.stringify({ ...fields, padding: "" });
  return `${head.slice(0, -2) + "x".repeat(bytes - head.length)}"}`;
}

/** The body as a stream: no Content-Length, as a chunked request arrives. */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + 4096));
      at += 4096;
    },
  });
}

/** In the path's vocabulary: seed 000's class-first envelope on /v1/files* and /v1/runs*, seed 003's elsewhere. */
async function expectTooLarge(res: Response, path = "") {
  expect(res.status).toBe(413);
  const seed000 = /^\/v1\/(files|runs)\//.test(path);
  expect(await res.json()).toMatchObject(
    seed000
      ? { error: "payload_too_large", code: "request.too_large", maxBodyBytes: MAX_FIELDS_BODY_BYTES }
      : { error: "request.too_large", type: "payload_too_large", maxBodyBytes: MAX_FIELDS_BODY_BYTES },
  );
}

async function post(
  account: TestAccount,
  path: string,
  body: string | ReadableStream<Uint8Array>,
  contentType = "application/json",
) {
  return account.call(path, { method: "POST", headers: { "content-type": contentType }, body });
}

describe("JSON body limit", () => {
  it("refuses an oversize JSON body on every JSON endpoint, with and without Content-Length", async () => {
    const account = await seedAccount({ credits: 50 });
    const jobId = await parkedJob(account, "Queued");
    const paths = [
      "/v1/webhooks",
      "/v1/convert",
      "/v1/convert/batch",
      `/v1/runs/${jobId}/export`,
      `/v1/convert/job/${jobId}/cancel`,
      "/v1/webhooks/signing-secret/rotate",
      "/v1/webhooks/deliveries/dlv_x/redeliver",
      "/v1/files/file_x/convert",
    ];
    for (const path of paths) {
      const body = jsonOf(OVER, {
        url: "https://example.com/hook",
        fileId: "file_x",
        targetFormat: "pdf",
        format: "pdf",
      });
      await expectTooLarge(await post(account, path, body), path);
      await expectTooLarge(await post(account, path, chunked(body)), path);
    }
    // Nothing happened: no endpoint, the job still Queued and charged once.
    expect((await account.json("/v1/webhooks")).body.data).toEqual([]);
    expect((await account.json(`/v1/convert/job/${jobId}`)).body.status).toBe("Queued");
    expect((await balance(account.accountId)).credits).toBe(47);
  });

  it("applies to every JSON media type and to URL-encoded forms, not to other bodies", async () => {
    const account = await seedAccount();
    const body = jsonOf(OVER, { url: "https://example.com/hook" });
    await expectTooLarge(await post(account, "/v1/webhooks", body, "application/json; charset=utf-8"));
    await expectTooLarge(await post(account, "/v1/webhooks", body, "Application/JSON"));
    await expectTooLarge(await post(account, "/v1/webhooks", body, "application/merge-patch+json"));
    await expectTooLarge(
      await post(
        account,
        "/v1/convert",
        `targetFormat=pdf&fileId=${"x".repeat(OVER)}`,
        "application/x-www-form-urlencoded",
      ),
    );
    // A body Hono does not parse is left to the route: /v1/convert refuses the media type itself.
    const other = await post(account, "/v1/convert", chunked("x".repeat(OVER)), "text/plain");
    expect(other.status).toBe(415);
    expect((await other.json<{ error: string }>()).error).not.toBe("request.too_large");
  });

  it("accepts a body at the limit", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/webhooks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunked(jsonOf(MAX_FIELDS_BODY_BYTES, { url: "https://example.com/hook" })),
    });
    // Parsed and validated: the padding is an unknown key the schema drops, so the endpoint is made.
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.url).toBe("https://example.com/hook");
  });
});
