// Hostile structures for the detector, which runs on untrusted bytes in a CPU-limited Worker and on the
// converter's event loop: each must end, refused, after bounded work (bytes read and inflated, never timing).
import { deflateSync } from "node:zlib";
import { strToU8, zipSync } from "fflate";
import { describe, expect, test } from "vitest";
import { bytesSource, detect } from "../src/detect/index.ts";
import { scatteredOle2 } from "./hostile-builders.ts";

const MiB = 1024 * 1024;
const PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml";
const OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";

/** Builds a file from parts, giving each part the offset it starts at. */
function assemble(build: (push: (part: string | Buffer) => number) => void): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  build((part) => {
    const bytes = typeof part === "string" ? Buffer.from(part, "latin1") : part;
    const at = length;
    parts.push(bytes);
    length += bytes.length;
    return at;
  });
  return Buffer.concat(parts);
}

describe("PDF structure", () => {
  test("cross-reference streams chained by /Prev, each inflating a million rows for every lookup, cost a bounded inflation", async () => {
    // 64 sections of 44 KB each: the catalog's row is the last of a million, and an unknown entry type sends the
    // lookup on to the next section. Before the cap: 192 MB inflated, ~19 s of CPU, for a 198 KB file.
    const rows = 1_000_000;
    const data = Buffer.alloc(rows * 3);
    data[(rows - 1) * 3] = 3;
    const z = deflateSync(data, { level: 9 });
    const pdf = assemble((push) => {
      push("%PDF-1.7\n");
      let prev = -1;
      for (let s = 0; s < 64; s++) {
        const at = push(
          `${100 + s} 0 obj\n<< /Type /XRef /Size ${rows + 1} /W [1 1 1] /Index [1 ${rows}] /Filter /FlateDecode /Length ${z.length} /Root ${rows} 0 R${prev >= 0 ? ` /Prev ${prev}` : ""} >>\nstream\n`,
        );
        push(z);
        push("\nendstream\nendobj\n");
        prev = at;
      }
      push(`startxref\n${prev}\n%%EOF\n`);
    });
    expect(pdf.length).toBeLessThan(256 * 1024);
    const detection = await detect(bytesSource(pdf), { name: "x.pdf" });
    expect(detection).toMatchObject({ ok: false, reason: "corrupt" });
    expect(detection.work.inflated).toBeLessThanOrEqual(32 * MiB);
  });

  test("cross-reference tables of empty subsections chained by /Prev are capped in all, not per table", async () => {
    // 16 tables of 100,000 "0 0" subsections (6.4 MB): each was under the per-table cap, together they held
    // 1.6 million subsections (~150 MB of heap, ~4 s of CPU; a 100 MB upload, gigabytes).
    const filler = "0 0 ".repeat(100_000);
    const pdf = assemble((push) => {
      push(
        "%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n",
      );
      let prev = -1;
      for (let s = 0; s < 16; s++) {
        prev = push(`xref\n${filler}\ntrailer\n<< /Size 3 /Root 1 0 R${prev >= 0 ? ` /Prev ${prev}` : ""} >>\n`);
      }
      push(`startxref\n${prev}\n%%EOF\n`);
    });
    const detection = await detect(bytesSource(pdf), { name: "x.pdf" });
    expect(detection).toMatchObject({
      ok: false,
      reason: "corrupt",
      detail: expect.stringContaining("too many cross-reference subsections"),
    });
    // The second table crosses the cap: about two tables' worth read, not sixteen.
    expect(detection.work.read).toBeLessThan(pdf.length / 4);
  });

  test("object streams are read no further than the object wanted: a /Length chain through 8 MiB streams costs ~1 MiB each", async () => {
    // The catalog in object stream 10, whose /Length is an object in stream 11, whose /Length is in stream 12: each
    // stream 8 MiB inflated (37 KB compressed). Whole streams were inflated and held (two cached, one assembled
    // from its chunks): 25 MB inflated and ~25 MB of memory for this 37 KB file, ~40 MB with a longer chain.
    const pad = "null\n".repeat((8 * MiB) / 5);
    const streams = [0, 1, 2].map((k) => ({ num: 10 + k, inner: k + 1, z: Buffer.alloc(0) }));
    // Stream k + 1 holds the length of stream k.
    streams.forEach((s, k) => {
      const value = k === 0 ? "<< /Type /Catalog /Pages 99 0 R >>" : String(streams[k - 1]!.z.length);
      s.z = deflateSync(Buffer.from(`${s.inner} 0 ${value}\n${pad}`, "latin1"));
    });
    const offsets = new Map<number, number>();
    const pdf = assemble((push) => {
      push("%PDF-1.7\n");
      streams.forEach((s, k) => {
        const length = k + 1 < streams.length ? `${k + 2} 0 R` : String(s.z.length);
        offsets.set(
          s.num,
          push(
            `${s.num} 0 obj\n<< /Type /ObjStm /N 1 /First ${`${s.inner} 0 `.length} /Filter /FlateDecode /Length ${length} >>\nstream\n`,
          ),
        );
        push(s.z);
        push("\nendstream\nendobj\n");
      });
      offsets.set(99, push("99 0 obj\n<< /Type /Pages /Kids [] /Count 2 >>\nendobj\n"));
      const rows = Array.from({ length: 100 }, (_, n) => {
        if (n >= 1 && n <= streams.length) return [2, 0, 0, 0, 10 + n - 1];
        const o = offsets.get(n);
        return o === undefined ? [0, 0, 0, 0, 0] : [1, (o >> 24) & 255, (o >> 16) & 255, (o >> 8) & 255, o & 255];
      });
      const xref = deflateSync(Buffer.from(rows.flat()));
      const at = push(
        `100 0 obj\n<< /Type /XRef /Size 101 /W [1 4 0] /Index [0 100] /Filter /FlateDecode /Length ${xref.length} /Root 1 0 R >>\nstream\n`,
      );
      push(xref);
      push(`\nendstream\nendobj\nstartxref\n${at}\n%%EOF\n`);
    });
    const detection = await detect(bytesSource(pdf), { name: "x.pdf" });
    expect(detection).toMatchObject({ ok: true, format: "pdf", pages: 2 });
    expect(detection.work.inflated).toBeLessThan(streams.length * (MiB + 128 * 1024));
  });
});

describe("zip packages", () => {
  test("a deck whose presentation.xml lies about its size is counted no further than the zip-bomb cap", async () => {
    // 36 MiB of tags inside a never-closed sldIdLst, ~40 KB compressed, declared as 1000 bytes (at 120 MiB: the slide
    // counter inflated and scanned all of it, 4.5 s of CPU in the Worker), accepted the deck, and only the
    // converter refused it.
    const main = `<p:presentation><p:sldIdLst><p:sldId/>${"<a>".repeat(12 * MiB)}`;
    const zip = Buffer.from(
      zipSync({
        "[Content_Types].xml": strToU8(
          `<Types><Override PartName="/ppt/presentation.xml" ContentType="${PPTX}"/></Types>`,
        ),
        "_rels/.rels": strToU8(
          `<Relationships><Relationship Id="r" Type="${OFFICE_DOCUMENT}" Target="ppt/presentation.xml"/></Relationships>`,
        ),
        "ppt/presentation.xml": strToU8(main),
      }),
    );
    for (let i = 0; i + 4 <= zip.length; i++) {
      if (zip.readUInt32LE(i) === 0x02014b50) zip.writeUInt32LE(1000, i + 24);
      if (zip.readUInt32LE(i) === 0x04034b50) zip.writeUInt32LE(1000, i + 22);
    }
    const detection = await detect(bytesSource(zip), { name: "deck.pptx" });
    expect(detection).toMatchObject({ ok: false, reason: "zip_bomb" });
    // The converter's cap: 200× the archive, or 10 MiB for a small one.
    expect(detection.work.inflated).toBeLessThanOrEqual(Math.max(10 * MiB, 200 * zip.length) + 64 * 1024);
  });
});

describe("OLE2 compound files", () => {
  test("a directory chain cycling through more blocks than the reader caches is refused after the source's reads", async () => {
    // 4.3 MB: 8,000 directory sectors visited round-robin over 60 blocks of 64 KiB, so every step missed the
    // 16-block cache: 7,681 reads of 64 KiB (503 MB), in the Worker as many R2 range requests (its source
    // allows 1024, src/storage/r2.ts).
    const file = Buffer.from(scatteredOle2(8400, 60));
    const detection = await detect({ ...bytesSource(file), maxReads: 1024 }, { name: "x.doc" });
    expect(detection).toMatchObject({ ok: false, reason: "corrupt", detail: expect.stringContaining("scattered") });
    expect(detection.work.read).toBeLessThanOrEqual(1024 * 64 * 1024);
  });
});
