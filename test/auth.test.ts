import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE, seedAccount } from "./harness";

const get = (headers: Record<string, string>) => exports.default.fetch(new Request(`${BASE}/v1/convert/jobs`, { headers }));

describe("API key auth", () => {
  it("refuses a request without a key with 401 auth.missing_key", async () => {
    const res = await get({});
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "auth.missing_key", type: "authentication_error" });
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

  it("refuses a revoked key with 401 auth.revoked_key", async () => {
    const account = await seedAccount();
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ?1 WHERE account_id = ?2").bind(Date.now(), account.accountId).run();
    const res = await get({ "x-api-key": account.key });
    expect(res.status).toBe(401);
    expect((await res.json<{ error: string }>()).error).toBe("auth.revoked_key");
  });

  it("stores only a hash of the key", async () => {
    const account = await seedAccount();
    const rows = await env.DB.prepare("SELECT hash, prefix FROM api_keys WHERE account_id = ?1").bind(account.accountId).all<{ hash: string; prefix: string }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows.results[0]!.hash).not.toContain(account.key.slice(12));
    expect(account.key.startsWith(rows.results[0]!.prefix)).toBe(true);
  });

  it("answers unknown routes with the error envelope", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/nope");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: "not_found", type: "not_found" });
  });
});
