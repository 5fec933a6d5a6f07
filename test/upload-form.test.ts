// The streaming form reader on its own (no R2, no D1): the same form read whole and split at every byte
// position, in two chunks and in three, must give the same fields and the same file bytes (multipasta's own
// part parser misread a closing boundary split between its two dashes; the reader's does not), and names in
// any script and with control characters arrive as sent, for the file-name rules to judge.
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors";
import { contentDisposition, type FileSink, readUploadForm } from "../src/routes/upload-form";

const boundary = "----b-o-u-n-d-a-r-y--";
const encoder = new TextEncoder();
const fileBytes = encoder.encode(`line one\r\n--not the boundary--\r\n------\r\n-- ${boundary.slice(0, 8)}\r\n-`);
const body = encoder.encode(
  `--${boundary}\r\nContent-Disposition: form-data; name="targetFormat"\r\n\r\npdf\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a-b.csv"\r\nContent-Type: text/csv\r\n\r\n`,
);
const tail = encoder.encode(
  `\r\n--${boundary}\r\nContent-Disposition: form-data; name="pages"\r\n\r\n1-2\r\n--${boundary}--\r\n`,
);
const whole = new Uint8Array([...body, ...fileBytes, ...tail]);

function collect(): { sink: (name: string) => FileSink<{ name: string; bytes: number[] }> } {
  return {
    sink: (name) => {
      const bytes: number[] = [];
      return {
        write: async (chunk) => void bytes.push(...chunk),
        close: async () => ({ name, bytes }),
        abort: async () => undefined,
      };
    },
  };
}

async function read(chunks: Uint8Array[]) {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) if (c.length) controller.enqueue(c);
      controller.close();
    },
  });
  const request = new Request("http://x/", {
    method: "POST",
    body: stream,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    duplex: "half",
  } as RequestInit);
  const { sink } = collect();
  const form = await readUploadForm(request, {
    fields: ["targetFormat", "pages"],
    fileField: "file",
    maxFiles: 1,
    tooManyFiles: () => new ApiError("request.invalid", "one"),
    maxBodyBytes: 1 << 20,
    tooLarge: () => new ApiError("request.too_large", "big"),
    openFile: (name) => sink(name),
    discard: async () => undefined,
    timeouts: { idleMs: 30_000, totalMs: 60_000 },
  });
  return {
    fields: form.fields,
    files: form.files.map((f) => ({ name: f.name, text: new TextDecoder().decode(new Uint8Array(f.bytes)) })),
  };
}

describe("readUploadForm at every split point", () => {
  it("reads the same form however the body is cut into chunks", async () => {
    const expected = {
      fields: { targetFormat: "pdf", pages: "1-2" },
      files: [{ name: "a-b.csv", text: new TextDecoder().decode(fileBytes) }],
    };
    expect(await read([whole])).toEqual(expected);
    for (let i = 1; i < whole.length; i++)
      expect(await read([whole.subarray(0, i), whole.subarray(i)]), `split at ${i}`).toEqual(expected);
    for (let i = 1; i < whole.length; i += 7)
      for (let j = i + 1; j < whole.length; j += 5)
        expect(
          await read([whole.subarray(0, i), whole.subarray(i, j), whole.subarray(j)]),
          `split at ${i}, ${j}`,
        ).toEqual(expected);
    const bytewise = Array.from(whole, (b) => Uint8Array.of(b));
    expect(await read(bytewise)).toEqual(expected);
  });
});

describe("part headers", () => {
  it.each([
    [
      'form-data; name="file"; filename="отчёт 2026.docx"',
      { type: "form-data", name: "file", filename: "отчёт 2026.docx" },
    ],
    [
      'form-data; name="file"; filename="report\u0007.docx"',
      { type: "form-data", name: "file", filename: "report\u0007.docx" },
    ],
    ['form-data; name="file"; filename="a \\"b\\".docx"', { type: "form-data", name: "file", filename: 'a "b".docx' }],
    [
      "form-data; name=file; filename*=UTF-8''%E6%8A%A5%E5%91%8A.docx; filename=\"x.docx\"",
      { type: "form-data", name: "file", filename: "报告.docx" },
    ],
    ['Form-Data; name="targetFormat"', { type: "form-data", name: "targetFormat" }],
  ])("Content-Disposition: %s", (header, expected) => {
    expect(contentDisposition(`Content-Disposition: ${header}\r\nContent-Type: text/plain`)).toEqual(expected);
  });
});

describe("readUploadForm with the BYOB reader (the runtime's own request bodies)", () => {
  it("keeps text fields whole when they straddle the reused read buffers", async () => {
    const letters = (n: number, c: string) => c.repeat(n);
    const fieldA = letters(16 * 1024 - 1, "a");
    const fieldB = letters(16 * 1024 - 1, "b");
    const file = Uint8Array.from({ length: 315 * 1024 }, (_, i) => (i % 97 === 0 ? 0x2d : (i * 7) & 0xff));
    const filler = (name: string) =>
      encoder.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${letters(16 * 1024 - 1, name)}\r\n`,
      );
    const parts: Uint8Array[] = [
      filler("x"),
      filler("y"),
      filler("z"),
      encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="targetFormat"\r\n\r\n${fieldA}\r\n`),
      encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n`),
      file,
      encoder.encode(
        `\r\n--${boundary}\r\nContent-Disposition: form-data; name="pages"\r\n\r\n${fieldB}\r\n--${boundary}--\r\n`,
      ),
    ];
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) all.set(p, at), (at += p.length);
    // Both long fields cross a 64 KiB read boundary (the reader's buffer size).
    const text = new TextDecoder("latin1").decode(all);
    for (const value of [fieldA, fieldB]) {
      const start = text.indexOf(value);
      expect(Math.floor(start / 65536)).not.toBe(Math.floor((start + value.length) / 65536));
    }
    let sent = 0;
    // A byte stream handing out odd-sized pieces, as a network would.
    const stream = new ReadableStream({
      type: "bytes",
      pull(controller) {
        if (sent >= all.length) return controller.close();
        const n = Math.min(1 + ((sent * 31) % 40_000), all.length - sent);
        controller.enqueue(all.slice(sent, sent + n));
        sent += n;
      },
    });
    const request = new Request("http://x/", {
      method: "POST",
      body: stream,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      duplex: "half",
    } as RequestInit);
    const { sink } = collect();
    const form = await readUploadForm(request, {
      fields: ["x", "y", "z", "targetFormat", "pages"],
      fileField: "file",
      maxFiles: 1,
      tooManyFiles: () => new ApiError("request.invalid", "one"),
      maxBodyBytes: 1 << 22,
      tooLarge: () => new ApiError("request.too_large", "big"),
      openFile: (name) => sink(name),
      discard: async () => undefined,
      timeouts: { idleMs: 30_000, totalMs: 60_000 },
    });
    expect(form.fields).toEqual({
      x: letters(16 * 1024 - 1, "x"),
      y: letters(16 * 1024 - 1, "y"),
      z: letters(16 * 1024 - 1, "z"),
      targetFormat: fieldA,
      pages: fieldB,
    });
    expect(form.files).toHaveLength(1);
    expect(form.files[0]!.bytes).toEqual([...file]);
  });
});
