// Findings of the attack round, each reproduced through the public API: what an outside attacker or a careful
// new user did, and what the documents promise instead.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_ENDPOINTS_PER_ACCOUNT } from "../src/routes/webhooks";
import { seedAccount } from "./harness";

describe("webhook endpoints", () => {
  it("holds the per-account limit when registrations race", async () => {
    const account = await seedAccount();
    const attempts = MAX_ENDPOINTS_PER_ACCOUNT + 10;
    const results = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        account.json("/v1/webhooks", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ url: `https://example.com/hooks/${i}` }),
        }),
      ),
    );
    const refused = results.filter((r) => r.status !== 201);
    expect(results.length - refused.length).toBe(MAX_ENDPOINTS_PER_ACCOUNT);
    for (const r of refused) expect(r.body).toMatchObject({ error: "webhooks.limit_reached", maxEndpoints: MAX_ENDPOINTS_PER_ACCOUNT });
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE account_id = ?1").bind(account.accountId).first<{ n: number }>();
    expect(stored!.n).toBe(MAX_ENDPOINTS_PER_ACCOUNT);
  });
});
