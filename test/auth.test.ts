import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE, seedAccount } from "./harness";

const get = (headers: Record<string, string>) =>
  exports.default.fetch(new Request(`${BASE}/v1/convert/jobs`, { headers }));

describe("API key auth", () => {
  it("refuses a request without a key with 401 auth.missing_key", async () => {
    const res = await get({});
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "auth.missing_key", type: "unauthorized" });
  });

  it("refuses an unknown key with 401 auth.invalid_key", async () => {
    const res = await get({ "x-api-key": "sk_test_00000000000000000000000000000000" });
    expect(res.status).toBe(401);
    expect((await res.json<{ error: string }>()).error).toBe("auth.invalid_key");
  });

  it("refuses a malformed key with 401 auth.invalid_key", async () => {
    const res = await get({ authorization: "Bearer not-a-key" });
    expect(res.status).toBe(401);
    expect((await res.json<{ error: string }>()).error).toBe("auth.invalid_key");
  });

  it("accepts the key in X-API-Key and in Authorization: Bearer", async () => {
    const account = await seedAccount();
    expect((await get({ "x-api-key": account.key })).status).toBe(200);
    expect((await get({ authorization: `Bearer ${account.key}` })).status).toBe(200);
  });

  it("accepts the Bearer scheme in any case, and the same key in both headers", async () => {
    const account = await seedAccount();
    for (const authorization of [`bearer ${account.key}`, `BEARER ${account.key}`, `Bearer  ${account.key}`]) {
      expect((await get({ authorization })).status, authorization).toBe(200);
    }
    expect((await get({ "x-api-key": account.key, authorization: `Bearer ${account.key}` })).status).toBe(200);
    const twice = new Headers([
      ["x-api-key", account.key],
      ["x-api-key", account.key],
    ]);
    expect((await exports.default.fetch(new Request(`${BASE}/v1/convert/jobs`, { headers: twice }))).status).toBe(200);
  });

  it("refuses a bare key in Authorization with 401 auth.invalid_authorization saying how to send it", async () => {
    const account = await seedAccount();
    const res = await get({ authorization: account.key });
    expect(res.status).toBe(401);
    const body = await res.json<{ error: string; type: string; detail: string }>();
    expect(body).toMatchObject({ error: "auth.invalid_authorization", type: "unauthorized" });
    expect(body.detail).toContain("Authorization: Bearer <key>");
    expect(body.detail).toContain("X-API-Key");
  });

  it.each([
    ["another scheme", (key: string) => `Basic ${btoa(`${key}:`)}`, "must be Bearer"],
    ["Token scheme", (key: string) => `Token ${key}`, "must be Bearer"],
    ["Bearer without a key", () => "Bearer", "exactly one key"],
    ["Bearer with two tokens", (key: string) => `Bearer ${key} ${key}`, "exactly one key"],
    ["Bearer with a tab", (key: string) => `Bearer\t${key}`, "exactly one key"],
    ["a valid X-API-Key beside a malformed Authorization", (key: string) => key, "no scheme"],
  ])("refuses %s with 401 auth.invalid_authorization", async (_, authorization, detail) => {
    const account = await seedAccount();
    const res = await get({ "x-api-key": account.key, authorization: authorization(account.key) });
    expect(res.status).toBe(401);
    const body = await res.json<{ error: string; detail: string }>();
    expect(body.error).toBe("auth.invalid_authorization");
    expect(body.detail).toContain(detail);
  });

  it("refuses two different keys in one request with 400 auth.conflicting_keys, whichever is valid", async () => {
    const account = await seedAccount();
    const other = await seedAccount();
    for (const headers of [
      new Headers({ "x-api-key": account.key, authorization: `Bearer ${other.key}` }),
      new Headers({ "x-api-key": account.key, authorization: "Bearer sk_test_00000000000000000000000000000000" }),
      new Headers([
        ["x-api-key", account.key],
        ["x-api-key", other.key],
      ]),
      new Headers([
        ["authorization", `Bearer ${account.key}`],
        ["authorization", `Bearer ${other.key}`],
      ]),
    ]) {
      const res = await exports.default.fetch(new Request(`${BASE}/v1/convert/jobs`, { headers }));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "auth.conflicting_keys", type: "invalid_request" });
    }
  });

  it("refuses a revoked key with 401 auth.revoked_key", async () => {
    const account = await seedAccount();
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ?1 WHERE account_id = ?2")
      .bind(Date.now(), account.accountId)
      .run();
    const res = await get({ "x-api-key": account.key });
    expect(res.status).toBe(401);
    expect((await res.json<{ error: string }>()).error).toBe("auth.revoked_key");
  });

  it("stores only a hash of the key", async () => {
    const account = await seedAccount();
    const rows = await env.DB.prepare("SELECT hash, prefix FROM api_keys WHERE account_id = ?1")
      .bind(account.accountId)
      .all<{ hash: string; prefix: string }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows.results[0]!.hash).not.toContain(account.key.slice(12));
    expect(account.key.startsWith(rows.results[0]!.prefix)).toBe(true);
  });

  it("answers a missing key on /v1/files* and /v1/runs* in seed 000's vocabulary, before the route runs", async () => {
    for (const [method, path] of [
      ["POST", "/v1/files"],
      ["GET", "/v1/files/file_x"],
      ["POST", "/v1/files/file_x/convert"],
      ["POST", "/v1/runs/x/export"],
    ] as const) {
      const res = await exports.default.fetch(new Request(`${BASE}${path}`, { method }));
      expect(res.status, path).toBe(401);
      expect(await res.json(), path).toEqual({
        error: "unauthorized",
        code: "auth.missing_key",
        detail: expect.any(String),
        message: expect.any(String),
      });
    }
    const bad = await exports.default.fetch(
      new Request(`${BASE}/v1/files/file_x/convert`, {
        method: "POST",
        headers: { "x-api-key": "sk_test_00000000000000000000000000000000" },
      }),
    );
    expect(await bad.json()).toMatchObject({ error: "unauthorized", code: "auth.invalid_key" });
    // …and the job API keeps seed 003's: the dotted code in `error`.
    const jobs = await exports.default.fetch(new Request(`${BASE}/v1/convert`, { method: "POST" }));
    expect(await jobs.json()).toEqual({ error: "auth.missing_key", type: "unauthorized", detail: expect.any(String) });
  });

  it("answers unknown routes with the error envelope", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/nope");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: "not_found", type: "not_found" });
  });
});
