// The streaming upload path attacked (issue 11's uploads, second attack round): what one request can make the
// Worker hold or leave behind, and the form's edge cases, through the public API and the storage adapter.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { strToU8 } from "fflate";
import { describe, expect, it, vi } from "vitest";
import { scatteredOle2 } from "../container/test/hostile-builders";
import worker from "../src/index";
import { ObjectWriter, PART_SIZE_BYTES } from "../src/storage/r2";
import { BASE, fixture, seedAccount, type TestAccount } from "./harness";
import { layered, multipartStream, noise, postStreamed, sha256Of, sha256OfStream } from "./streams";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("memory a stalled upload holds", () => {
  it("grows the object buffer with the bytes received: 64 KiB and one byte hold 128 KiB, not a 5 MiB part", async () => {
    // A sender that stops after 64 KiB of a file held a whole part's buffer (5 MiB) until it went away: 25 such
    // requests, 1.6 MB sent in all, filled a 128 MB isolate.
    const writer = new ObjectWriter(env.BUCKET, "attack/stalled", {});
    await writer.write(new Uint8Array(64 * KiB + 1));
    expect(writer.bufferBytes).toBeLessThanOrEqual(128 * KiB);
    await writer.write(new Uint8Array(300 * KiB));
    expect(writer.bufferBytes).toBeLessThanOrEqual(2 * (364 * KiB + 1));
    await writer.abort();
  });

  it("goes from 1 MiB straight to one part's buffer, and keeps it for every part", async () => {
    const writer = new ObjectWriter(env.BUCKET, "attack/straight", {});
    await writer.write(new Uint8Array(MiB));
    expect(writer.bufferBytes).toBe(MiB);
    await writer.write(new Uint8Array(1));
    expect(writer.bufferBytes).toBe(PART_SIZE_BYTES);
    await writer.write(new Uint8Array(PART_SIZE_BYTES));
    expect(writer.bufferBytes).toBe(PART_SIZE_BYTES);
    await writer.abort();
  });

  it("stores byte for byte across every growth step and the first part", async () => {
    const size = PART_SIZE_BYTES + 3 * 64 * KiB + 7;
    const fill = noise(7);
    const writer = new ObjectWriter(env.BUCKET, "attack/grown", {});
    for (let at = 0; at < size; at += 7919) await writer.write(fill(at, Math.min(7919, size - at)));
    await writer.complete();
    expect(writer.bufferBytes).toBe(0);
    const stored = await env.BUCKET.get("attack/grown");
    expect(await sha256OfStream(stored!.body)).toEqual({ sha256: await sha256Of(size, fill), bytes: size });
    await env.BUCKET.delete("attack/grown");
  });
});

describe("R2 requests a detection makes", () => {
  it("refuses a 6 MB OLE2 file whose directory chain misses the detector's cache on every step, within 1024 range reads", async () => {
    // Stored as a multipart upload (past one 5 MiB part), so the detector reads it back from R2: 7,681 range
    // requests of 64 KiB for one upload before the cap, near the platform's 10,000 subrequests a request.
    const account = await seedAccount({ credits: 10 });
    const file = scatteredOle2(12_000, 60);
    expect(file.length).toBeGreaterThan(PART_SIZE_BYTES);
    const form = multipartStream([
      { name: "file", filename: "old.doc", size: file.length, bytes: (o, l) => file.subarray(o, o + l) },
    ]);
    const res = await postStreamed(account, "/v1/files", form);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body).toMatchObject({
      code: "convert.corrupt_input",
      detail: expect.stringContaining("scattered over more than 1024 reads"),
    });
    expect((await env.BUCKET.list({ prefix: `uploads/${account.accountId}/` })).objects).toEqual([]);
  });
});

/** The API called in this isolate with `vars` over the test env, so the test holds the request body's stream. */
async function postWith(
  vars: Partial<Record<keyof Env, string>>,
  account: TestAccount,
  path: string,
  body: ReadableStream<Uint8Array>,
  contentType: string,
) {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${path}`, {
    method: "POST",
    body,
    headers: { "content-type": contentType, "x-api-key": account.key },
    duplex: "half",
  } as RequestInit);
  const res = await worker.fetch(request, { ...env, ...vars } as Env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** `body` passed on up to `at` bytes, then nothing more, ever: a sender that stopped sending. */
function stallingAfter(body: ReadableStream<Uint8Array>, at: number) {
  const reader = body.getReader();
  let sent = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (sent >= at) return new Promise<void>(() => undefined);
        const { done, value } = await reader.read();
        if (done) return controller.close();
        const out = value.subarray(0, at - sent);
        sent += out.length;
        controller.enqueue(out);
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, cancelled: () => cancelled };
}

describe("a sender that stops sending", () => {
  it("is refused once no bytes arrived for the idle timeout; the stored file and the unfinished multipart upload are discarded", async () => {
    // The platform keeps a stalled request body open (README "Uploads"): before, the request and its buffers
    // stayed for as long as the sender held the connection.
    const account = await seedAccount({ credits: 10 });
    const docx = fixture("docx-header-footer.docx");
    const pdf = layered(strToU8("%PDF-1.7\n"), 12 * MiB, strToU8("\n%%EOF\n"));
    const form = multipartStream([
      { name: "targetFormat", value: "pdf" },
      { name: "files", filename: "a.docx", size: docx.length, bytes: (o, l) => docx.subarray(o, o + l) },
      { name: "files", filename: "b.pdf", ...pdf },
    ]);
    // The docx is stored (its part closed), then 6 MiB of the PDF: one 5 MiB part sent to R2, then silence.
    const stalled = stallingAfter(form.body, docx.length + 6 * MiB);
    const res = await postWith(
      { UPLOAD_IDLE_TIMEOUT_SECONDS: "0.3" },
      account,
      "/v1/convert/batch",
      stalled.stream,
      form.contentType,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body).toMatchObject({
      error: "request.incomplete_body",
      detail: expect.stringContaining("no bytes arrived for 0.3 s"),
    });
    expect(form.pulled()).toBeGreaterThan(docx.length + 5 * MiB);
    expect((await env.BUCKET.list({ prefix: `uploads/${account.accountId}/` })).objects).toEqual([]);
    const rows = await env.DB.prepare(
      "SELECT (SELECT COUNT(*) FROM files WHERE account_id = ?1) + (SELECT COUNT(*) FROM jobs WHERE account_id = ?1) AS n",
    )
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(rows!.n).toBe(0);
    // The body is let go of, not left pending.
    await vi.waitUntil(() => stalled.cancelled(), { timeout: 5000 });
  });
});

describe("what follows the closing boundary", () => {
  it("is not read: a valid upload with an epilogue longer than the body limit is taken", async () => {
    // Before, the text after the closing boundary was read up to the size limit and answered 413.
    const account = await seedAccount();
    const docx = fixture("docx-header-footer.docx");
    const form = multipartStream([
      { name: "file", filename: "report.docx", size: docx.length, bytes: (o, l) => docx.subarray(o, o + l) },
    ]);
    const epilogue = 80 * MiB;
    let epiloguePulled = 0;
    const reader = form.body.getReader();
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (!done) return controller.enqueue(value);
          if (epiloguePulled >= epilogue) return controller.close();
          const chunk = new Uint8Array(Math.min(64 * KiB, epilogue - epiloguePulled)).fill(0x78);
          epiloguePulled += chunk.length;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const res = await postWith({}, account, "/v1/files", body, form.contentType);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ filename: "report.docx", bytes: docx.length, source_format: "docx" });
    const stored = await env.BUCKET.get(`uploads/${account.accountId}/${res.body.file_id}`);
    expect(await sha256OfStream(stored!.body)).toEqual({
      sha256: await sha256Of(docx.length, (o, l) => docx.subarray(o, o + l)),
      bytes: docx.length,
    });
    expect(epiloguePulled).toBeLessThan(4 * MiB);
  });
});
