// The streaming upload path attacked (issue 11's uploads, second attack round): what one request can make the
// Worker hold or leave behind, and the form's edge cases, through the public API and the storage adapter.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { scatteredOle2 } from "../container/test/hostile-builders";
import { ObjectWriter, PART_SIZE_BYTES } from "../src/storage/r2";
import { seedAccount } from "./harness";
import { multipartStream, noise, sha256Of, sha256OfStream } from "./streams";

const KiB = 1024;

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
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form.body,
      headers: { "content-type": form.contentType },
      duplex: "half",
    } as RequestInit);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body).toMatchObject({
      code: "convert.corrupt_input",
      detail: expect.stringContaining("scattered over more than 1024 reads"),
    });
    expect((await env.BUCKET.list({ prefix: `uploads/${account.accountId}/` })).objects).toEqual([]);
  });
});
