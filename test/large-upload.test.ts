// A file above 60 MB goes through the whole path unchanged: streamed into R2 (a multipart upload), converted
// (the consumer streams it to the converter), and the output downloaded. "Unchanged" is checked where it can
// be: R2 holds exactly the SHA-256 that was sent; the converter read the PDF to its end (its page count comes
// from the trailer, the file's last bytes); the download is exactly the object stored. The document is one
// page plus a 61 MiB stream no page uses, so converting it costs one small page render.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { seedAccount, waitForJob } from "./harness";
import { layered, multipartStream, postStreamed, sha256Of, sha256OfStream } from "./streams";

const MiB = 1024 * 1024;
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function bigPdf(padding: number) {
  let head = "%PDF-1.7\n";
  const offsets: number[] = [];
  const obj = (id: number, body: string) => {
    offsets[id] = head.length;
    head += `${id} 0 obj\n${body}\nendobj\n`;
  };
  obj(1, "<< /Type /Catalog /Pages 2 0 R >>");
  obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
  obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>");
  const content = "0 0 1 rg 20 20 160 160 re f";
  obj(4, `<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
  offsets[5] = head.length;
  head += `5 0 obj\n<< /Length ${padding} >>\nstream\n`;
  let tail = "\nendstream\nendobj\n";
  const xrefAt = head.length + padding + tail.length;
  tail += `xref\n0 6\n0000000000 65535 f \n${offsets
    .slice(1)
    .map((o) => `${String(o).padStart(10, "0")} 00000 n \n`)
    .join("")}trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return layered(latin1(head), padding, latin1(tail));
}

describe("a file above 60 MB", () => {
  it("uploads, converts and downloads byte-identical", async () => {
    const account = await seedAccount({ plan: "pro", credits: 1000 });
    const pdf = bigPdf(61 * MiB);
    expect(pdf.size).toBeGreaterThan(60 * 1000 * 1000);
    const sent = await sha256Of(pdf.size, pdf.bytes);

    const body = multipartStream([
      { name: "targetFormat", value: "png" },
      { name: "file", filename: "large.pdf", ...pdf },
    ]);
    const res = await postStreamed(account, "/v1/convert", body);
    expect(res.status, JSON.stringify(res.body)).toBe(202);

    const file = await env.DB.prepare("SELECT id, bytes, pages, storage_key AS key FROM files WHERE account_id = ?")
      .bind(account.accountId)
      .first<{ id: string; bytes: number; pages: number; key: string }>();
    expect(file).toMatchObject({ bytes: pdf.size, pages: 1 });
    const stored = await env.BUCKET.get(file!.key);
    expect(await sha256OfStream(stored!.body)).toEqual({ sha256: sent, bytes: pdf.size });

    const job = await waitForJob(account, res.body.id, undefined, 120_000);
    expect(job.status, JSON.stringify(job.error)).toBe("Succeeded");
    expect(job.metrics).toMatchObject({ inputBytes: pdf.size, inputPages: 1 });

    const output = await env.DB.prepare("SELECT output_key AS key FROM jobs WHERE id = ?")
      .bind(job.id)
      .first<{ key: string }>();
    const object = await env.BUCKET.get(output!.key);
    const expected = await sha256OfStream(object!.body);
    const download = await account.call(`/v1/convert/job/${job.id}/download`);
    expect(download.status).toBe(200);
    const [forHash, forCheck] = download.body!.tee();
    const [got, head] = await Promise.all([sha256OfStream(forHash), new Response(forCheck).arrayBuffer()]);
    expect(got).toEqual(expected);
    expect([...new Uint8Array(head, 0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  }, 180_000);
});
