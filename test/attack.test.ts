// Findings of the attack round, each reproduced through the public API: what an outside attacker or a careful
// new user did, and what the documents promise instead.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_ENDPOINTS_PER_ACCOUNT } from "../src/domain/webhook-endpoints";
import { balance, fixture, form, seedAccount, submit, upload, waitForJob } from "./harness";

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
    for (const r of refused)
      expect(r.body).toMatchObject({ error: "webhooks.limit_reached", maxEndpoints: MAX_ENDPOINTS_PER_ACCOUNT });
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE account_id = ?1")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(stored!.n).toBe(MAX_ENDPOINTS_PER_ACCOUNT);
  });
});

describe("page selections", () => {
  // The schema took any digits, so `0` or `5-2` reached the converter: a job admitted and charged, then failed
  // with convert.invalid_option and refunded — a conversion slot and a round trip for a request that was never valid.
  it.each(["0", "5-2", "1,0-3", "1-100001"])(
    "refuses pages=%s before anything is admitted, on both families",
    async (pages) => {
      const account = await seedAccount();
      const { file_id } = await upload(account, "docx-header-footer.docx");
      const before = await balance(account.accountId);

      const rendition = await account.json(`/v1/files/${file_id}/convert`, {
        method: "POST",
        body: form({ format: "png", pages, wait: "0" }),
      });
      expect(rendition.status, JSON.stringify(rendition.body)).toBe(400);
      expect(rendition.body).toMatchObject({ error: "invalid_request", code: "request.invalid" });
      expect(rendition.body.job_id).toBeUndefined();

      const job = await account.json("/v1/convert", {
        method: "POST",
        body: form({ fileId: file_id, targetFormat: "pdf", pages }),
      });
      expect(job.status, JSON.stringify(job.body)).toBe(400);
      expect(job.body).toMatchObject({ error: "request.invalid", type: "invalid_request" });

      const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1")
        .bind(account.accountId)
        .first<{ n: number }>();
      expect(jobs!.n).toBe(0);
      expect(await balance(account.accountId)).toEqual(before);
    },
  );
});

describe("sheet selections", () => {
  // Same as pages: a sheet the converter refuses by its form (0, or a name over 255 characters) was admitted first.
  it.each(["0", "000", "x".repeat(256)])(
    "refuses sheet=%s before anything is admitted, as a field and as ?sheet=",
    async (sheet) => {
      const account = await seedAccount();
      const { file_id } = await upload(account, "xlsx-simple.xlsx");
      const before = await balance(account.accountId);

      const field = await account.json(`/v1/files/${file_id}/convert`, {
        method: "POST",
        body: form({ format: "csv", sheet, wait: "0" }),
      });
      expect(field.status, JSON.stringify(field.body)).toBe(400);
      expect(field.body).toMatchObject({ error: "invalid_request", code: "request.invalid" });

      const query = await account.json(`/v1/convert?sheet=${encodeURIComponent(sheet)}`, {
        method: "POST",
        body: form({ fileId: file_id, targetFormat: "csv" }),
      });
      expect(query.status, JSON.stringify(query.body)).toBe(400);
      expect(query.body).toMatchObject({ error: "request.invalid" });

      const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1")
        .bind(account.accountId)
        .first<{ n: number }>();
      expect(jobs!.n).toBe(0);
      expect(await balance(account.accountId)).toEqual(before);
    },
  );
});

describe("media types", () => {
  // RFC 9110 §8.3.1: type and subtype are case-insensitive. The framework parsed these bodies (and the other
  // JSON routes accept them); the job routes then said "send multipart/form-data or JSON".
  it.each([
    ["Application/JSON", "json"],
    ["application/json; charset=UTF-8", "json"],
    ["application/vnd.api+json", "json"],
    ["Application/X-WWW-Form-Urlencoded", "form"],
  ])("POST /v1/convert and /v1/convert/batch take %s", async (contentType, kind) => {
    const account = await seedAccount();
    const { file_id } = await upload(account, "docx-header-footer.docx");
    const body = (fields: Record<string, string | string[]>) =>
      kind === "json"
        ? JSON.stringify(fields)
        : new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
    const single = await account.json("/v1/convert", {
      method: "POST",
      headers: { "content-type": contentType },
      body: body({ fileId: file_id, targetFormat: "txt" }),
    });
    expect(single.status, JSON.stringify(single.body)).toBe(202);
    const batch = await account.json("/v1/convert/batch", {
      method: "POST",
      headers: { "content-type": contentType },
      body: body({ fileIds: kind === "json" ? [file_id] : file_id, targetFormat: "txt" }),
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(202);
    expect(batch.body.jobs).toHaveLength(1);
  });
});

describe("download names", () => {
  // RFC 8187's ext-value allows only attr-char and %XX: encodeURIComponent leaves ' ( ) * as they are, and a `'`
  // inside the value splits it for parsers that read charset'language'value by its quotes.
  it("filename* carries only attr-chars and percent-escapes, and decodes to the output's name", async () => {
    const account = await seedAccount();
    const accepted = await submit(account, {
      file: { name: "it's (final)*!.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "txt",
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const job = await waitForJob(account, accepted.body.id);
    expect(job.status).toBe("Succeeded");
    expect(job.output.fileName).toBe("it's (final)*!.txt");
    const res = await account.call(`/v1/convert/job/${job.id}/download`);
    await res.arrayBuffer();
    const disposition = res.headers.get("content-disposition")!;
    const ext = /filename\*=UTF-8''([^;]*)$/.exec(disposition);
    expect(ext, disposition).not.toBeNull();
    expect(ext![1]).toMatch(/^(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})+$/);
    expect(decodeURIComponent(ext![1]!)).toBe(job.output.fileName);
  });
});

describe("Idempotency-Key", () => {
  const convert = (account: Awaited<ReturnType<typeof seedAccount>>, key: string, fields: Record<string, string>) =>
    account.json("/v1/convert", {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(fields),
    });

  // The request hash left webhookMetadata out: a retry with other metadata got the first job (and its metadata)
  // back instead of request.idempotency_mismatch.
  it("a different webhookMetadata is a different request", async () => {
    const account = await seedAccount();
    const { file_id } = await upload(account, "docx-header-footer.docx");
    const first = await convert(account, "meta-1", {
      fileId: file_id,
      targetFormat: "txt",
      webhookMetadata: "order-1",
    });
    expect(first.status).toBe(202);
    const other = await convert(account, "meta-1", {
      fileId: file_id,
      targetFormat: "txt",
      webhookMetadata: "order-2",
    });
    expect(other.status, JSON.stringify(other.body)).toBe(422);
    expect(other.body).toMatchObject({ error: "request.idempotency_mismatch" });
    const same = await convert(account, "meta-1", { fileId: file_id, targetFormat: "txt", webhookMetadata: "order-1" });
    expect(same.body.id).toBe(first.body.id);
  });

  // The hash took the target as sent (lower-cased only): `jpeg` and `jpg`, `.pdf` and `pdf` are one conversion.
  it("spellings of one target are the same request", async () => {
    const account = await seedAccount();
    const { file_id } = await upload(account, "docx-header-footer.docx");
    const first = await convert(account, "fmt-1", { fileId: file_id, targetFormat: "jpeg", pages: "1" });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const again = await convert(account, "fmt-1", { fileId: file_id, targetFormat: ".JPG", pages: "1" });
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect((await balance(account.accountId)).credits).toBe(1000 - first.body.creditCost);
  });
});
