// Streaming uploads (issue 11): the three multipart endpoints read their bodies as streams. Field order, field
// rules, bodies cut off or over the limit, files large enough for an R2 multipart upload and read back by
// range for detection — and in every refusal, nothing left in R2 or D1 and nothing charged.
import { env } from "cloudflare:workers";
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { balance, fixture, seedAccount } from "./harness";
import { type FormPart, layered, multipartStream, noise, postStreamed, sha256Of, sha256OfStream } from "./streams";

const MiB = 1024 * 1024;

async function leftovers(accountId: string) {
  const objects = await env.BUCKET.list({ prefix: `uploads/${accountId}/` });
  const rows = await env.DB.prepare(
    "SELECT (SELECT COUNT(*) FROM files WHERE account_id = ?1) AS files, (SELECT COUNT(*) FROM jobs WHERE account_id = ?1) AS jobs",
  )
    .bind(accountId)
    .first<{ files: number; jobs: number }>();
  return { objects: objects.objects.length, ...rows };
}

const fileOf = (name: string, bytes: Uint8Array, field = "file"): FormPart => ({
  name: field,
  filename: name,
  size: bytes.length,
  bytes: (o, l) => bytes.subarray(o, o + l),
});
const docx = () => fileOf("report.docx", fixture("docx-header-footer.docx"));

describe("fields in any order, and the form's rules", () => {
  it("takes targetFormat and options after the file", async () => {
    const account = await seedAccount();
    const res = await postStreamed(
      account,
      "/v1/convert",
      multipartStream([docx(), { name: "targetFormat", value: "pdf" }, { name: "pages", value: "1" }]),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.status).toBe("Queued");
  });

  it("takes purpose after the file on /v1/files", async () => {
    const account = await seedAccount();
    const res = await postStreamed(
      account,
      "/v1/files",
      multipartStream([docx(), { name: "purpose", value: "archive" }]),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ purpose: "archive", source_format: "docx", pages: null });
  });

  it.each<[string, FormPart[], RegExp]>([
    [
      "an unknown field",
      [docx(), { name: "targetFormat", value: "pdf" }, { name: "colour", value: "blue" }],
      /unknown field `colour`/,
    ],
    ["a repeated file field", [docx(), docx(), { name: "targetFormat", value: "pdf" }], /one `file`/],
    [
      "a text field named file",
      [
        { name: "file", value: "not a file" },
        { name: "targetFormat", value: "pdf" },
      ],
      /`file` must be a file part/,
    ],
    [
      "a file sent as targetFormat",
      [docx(), fileOf("x.txt", strToU8("pdf"), "targetFormat")],
      /`targetFormat` must be a text field/,
    ],
    [
      "a repeated targetFormat",
      [docx(), { name: "targetFormat", value: "pdf" }, { name: "targetFormat", value: "odt" }],
      /appears more than once/,
    ],
  ])("refuses %s with a clear 400, storing nothing", async (_, parts, detail) => {
    const account = await seedAccount({ credits: 10 });
    const res = await postStreamed(account, "/v1/convert", multipartStream(parts));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "request.invalid", detail: expect.stringMatching(detail) });
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  });

  it("refuses `file` and `fileId` together", async () => {
    const account = await seedAccount();
    const res = await postStreamed(
      account,
      "/v1/convert",
      multipartStream([docx(), { name: "fileId", value: "file_x" }, { name: "targetFormat", value: "pdf" }]),
    );
    expect(res.status).toBe(400);
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
  });

  it("says that `file` needs a filename when it arrives without one, however long its content", async () => {
    const account = await seedAccount();
    const res = await postStreamed(
      account,
      "/v1/files",
      multipartStream([{ name: "file", value: "x".repeat(40_000) }]),
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "invalid_request", code: "request.invalid" });
    expect(res.body.detail).toContain("must be a file part");
  });

  it("says that the line endings are wrong when a form uses LF alone", async () => {
    const account = await seedAccount();
    const boundary = "lfonly";
    const text = `--${boundary}\nContent-Disposition: form-data; name="file"; filename="a.txt"\n\n${"y".repeat(20_000)}\n--${boundary}--\n`;
    const bytes = new TextEncoder().encode(text);
    const res = await postStreamed(account, "/v1/files", {
      body: new Blob([bytes]).stream(),
      contentType: `multipart/form-data; boundary=${boundary}`,
      length: bytes.length,
      pulled: () => bytes.length,
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain("CRLF");
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
  });
});

describe("bodies cut off", () => {
  const bigPdf = () => layered(strToU8("%PDF-1.7\n"), 12 * MiB, strToU8("\n%%EOF\n"));

  // The runtime hands the Worker a sender's failing stream as a body that ends early (and logs the sender's
  // error as an uncaught exception on the test's side: that line in the output is expected).
  it.each([
    ["the body ends inside a small file", { cutAt: 9000 }, false],
    ["the body ends before the closing boundary", { cutAt: 12_000 }, false],
    ["the sender fails after two 5 MiB parts went to R2", { failAt: 11 * MiB }, true],
  ])("%s → 400 request.incomplete_body, nothing stored or charged", async (_, cut, big) => {
    const account = await seedAccount({ credits: 10 });
    const file = big ? { name: "file", filename: "big.pdf", ...bigPdf() } : docx();
    const res = await postStreamed(
      account,
      "/v1/convert",
      multipartStream([{ name: "targetFormat", value: "pdf" }, file], cut),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toBe("request.incomplete_body");
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  });
});

describe("size limits, enforced as the bytes arrive", () => {
  const limit = () => Number(env.MAX_FILE_SIZE_BYTES);

  it("refuses a Content-Length over the limit before reading the body", async () => {
    const account = await seedAccount();
    const body = multipartStream([
      { name: "file", filename: "big.pdf", ...layered(strToU8("%PDF-1.7\n"), limit() + MiB, new Uint8Array()) },
    ]);
    const res = await postStreamed(account, "/v1/files", body, { "content-length": String(body.length) });
    expect(res.status).toBe(413);
    // /v1/files answers in seed 000's vocabulary: the dotted code is `code`.
    expect(res.body).toMatchObject({ code: "request.too_large", maxFileSizeBytes: limit() });
    expect(body.pulled()).toBeLessThanOrEqual(64 * 1024);
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
  });

  it("refuses a body that crosses the limit when it crosses it, without reading the rest", async () => {
    const account = await seedAccount();
    // No Content-Length: only counting the bytes can stop it. 40 MiB more than the limit are never read.
    const body = multipartStream([
      { name: "file", filename: "big.pdf", ...layered(strToU8("%PDF-1.7\n"), limit() + 40 * MiB, new Uint8Array()) },
    ]);
    const res = await postStreamed(account, "/v1/files", body);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: "request.too_large" });
    expect(body.pulled()).toBeGreaterThan(limit());
    expect(body.pulled()).toBeLessThan(limit() + 4 * MiB);
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
  });

  it("refuses an image named .docx from its first bytes, without reading the rest", async () => {
    const account = await seedAccount();
    const png = fixture("hostile-image-named-as.docx").subarray(0, 1024);
    const body = multipartStream([
      { name: "file", filename: "photo.docx", ...layered(png, 30 * MiB, new Uint8Array()) },
    ]);
    const res = await postStreamed(account, "/v1/files", body);
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: "request.format_mismatch", detectedFormat: "png" });
    expect(body.pulled()).toBeLessThan(MiB);
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
  });
});

/** A pptx whose slide list sits between two incompressible media entries: reachable only by an R2 range read. */
function pptxWithMedia(slides: number): Uint8Array {
  const fill = noise(7);
  const pptType = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml";
  return zipSync({
    "[Content_Types].xml": strToU8(
      `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="bin" ContentType="application/octet-stream"/><Override PartName="/ppt/presentation.xml" ContentType="${pptType}"/></Types>`,
    ),
    "_rels/.rels": strToU8(
      '<Relationships><Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="ppt/presentation.xml"/></Relationships>',
    ),
    "ppt/media/a.bin": [fill(0, 7 * MiB), { level: 0 }],
    "ppt/presentation.xml": strToU8(
      `<p:presentation xmlns:p="p"><p:sldIdLst>${"<p:sldId/>".repeat(slides)}</p:sldIdLst></p:presentation>`,
    ),
    "ppt/media/b.bin": [fill(MiB, 2 * MiB), { level: 0 }],
    "docProps/app.xml": strToU8("<Properties><Slides>95</Slides></Properties>"),
  });
}

describe("files larger than one buffer: R2 multipart upload, detection by range reads", () => {
  it("stores a 9 MiB pptx byte for byte and counts its slides from the package", async () => {
    const account = await seedAccount();
    const pptx = pptxWithMedia(3);
    expect(pptx.length).toBeGreaterThan(5 * 1024 * 1024);
    const res = await postStreamed(account, "/v1/files", multipartStream([fileOf("deck.pptx", pptx)]));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ source_format: "pptx", pages: 3, bytes: pptx.length });
    const stored = await env.BUCKET.get(`uploads/${account.accountId}/${res.body.file_id}`);
    expect(await sha256OfStream(stored!.body)).toEqual({
      sha256: await sha256Of(pptx.length, (o, l) => pptx.subarray(o, o + l)),
      bytes: pptx.length,
    });
  });

  it("refuses a 9 MiB zip that is no office package after storing it, and removes it", async () => {
    const account = await seedAccount();
    const zip = zipSync({ "a.bin": [noise(3)(0, 9 * MiB), { level: 0 }], "readme.txt": strToU8("hi") });
    const res = await postStreamed(account, "/v1/files", multipartStream([fileOf("archive.zip", zip)]));
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: "request.unsupported_format", detectedFormat: "zip" });
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
  });
});

describe("Idempotency-Key with an upload", () => {
  it("hashes the file as it streams: the same bytes replay the job, and the second upload is not kept", async () => {
    const account = await seedAccount();
    const send = () =>
      postStreamed(account, "/v1/convert", multipartStream([docx(), { name: "targetFormat", value: "pdf" }]), {
        "idempotency-key": "k-stream-1",
      });
    const first = await send();
    const second = await send();
    expect(first.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect(await leftovers(account.accountId)).toEqual({ objects: 1, files: 1, jobs: 1 });
    const other = await postStreamed(
      account,
      "/v1/convert",
      multipartStream([fileOf("report.docx", fixture("docx-images.docx")), { name: "targetFormat", value: "pdf" }]),
      { "idempotency-key": "k-stream-1" },
    );
    expect(other.status).toBe(422);
    expect(other.body.error).toBe("request.idempotency_mismatch");
    expect(await leftovers(account.accountId)).toEqual({ objects: 1, files: 1, jobs: 1 });
  });

  it("refuses a key longer than 255 characters or with control characters before reading the body", async () => {
    const account = await seedAccount({ credits: 10 });
    for (const [path, key] of [
      ["/v1/convert", "k".repeat(256)],
      ["/v1/convert/batch", "k".repeat(10_000)],
      ["/v1/convert", "tab\there"],
    ] as const) {
      const res = await postStreamed(account, path, multipartStream([docx(), { name: "targetFormat", value: "pdf" }]), {
        "idempotency-key": key,
      });
      expect(res.status, path).toBe(400);
      expect(res.body).toMatchObject({ error: "request.invalid" });
      expect(res.body.detail).toContain("Idempotency-Key");
    }
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
    expect((await balance(account.accountId)).credits).toBe(10);
  });
});

describe("batches", () => {
  it("streams every file, in any order with the fields", async () => {
    const account = await seedAccount();
    const res = await postStreamed(
      account,
      "/v1/convert/batch",
      multipartStream(
        [
          fileOf("a.docx", fixture("docx-header-footer.docx"), "files"),
          { name: "targetFormat", value: "pdf" },
          fileOf("b.pdf", fixture("pdf-raw-text.pdf"), "files"),
        ].slice(0, 3),
      ),
    );
    // pdf → pdf is not a conversion: the whole batch is refused and nothing is kept
    expect(res.status).toBe(400);
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
    const ok = await postStreamed(
      account,
      "/v1/convert/batch",
      multipartStream([
        fileOf("a.docx", fixture("docx-header-footer.docx"), "files"),
        { name: "targetFormat", value: "pdf" },
        fileOf("b.odt", fixture("odt-raw-text.odt"), "files"),
      ]),
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect(ok.body.jobs.map((j: { filename: string }) => j.filename)).toEqual(["a.docx", "b.odt"]);
  });

  it("refuses a batch with a refused file: nothing stored, nothing charged", async () => {
    const account = await seedAccount({ credits: 10 });
    const res = await postStreamed(
      account,
      "/v1/convert/batch",
      multipartStream([
        fileOf("a.docx", fixture("docx-header-footer.docx"), "files"),
        fileOf("b.docx", fixture("hostile-truncated.docx"), "files"),
        { name: "targetFormat", value: "pdf" },
      ]),
    );
    expect(res.status).toBe(422);
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  });

  it("refuses more files than a batch holds", async () => {
    const account = await seedAccount();
    const parts = Array.from({ length: 11 }, (_, i) =>
      fileOf(`f${i}.docx`, fixture("docx-header-footer.docx"), "files"),
    );
    const res = await postStreamed(
      account,
      "/v1/convert/batch",
      multipartStream([{ name: "targetFormat", value: "pdf" }, ...parts]),
    );
    expect(res.status).toBe(413);
    expect(res.body.error).toBe("limits.batch_too_large");
    expect(await leftovers(account.accountId)).toEqual({ objects: 0, files: 0, jobs: 0 });
  });
});
