// Issue 14, item 5 — proof per format, through the public API and the real converter: every row of
// test/fixtures/formats/formats.tsv with status `converts` and a fixture is uploaded (POST /v1/files, named
// with the row's extension), converted to PDF (POST /v1/files/{file_id}/convert), and the PDF must have the
// pages LibreOffice 7.4's own CLI gives for the fixture and the row's text probe (pdftotext; pictures have
// none). A PDF is not converted to PDF: its pages come back as images (png, pages=all), one per CLI page.
// A row the converter cannot read fails here: the row is the claim, this is its proof.
import { exports } from "cloudflare:workers";
import { unzipSync } from "fflate";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { type SourceName, sources, sourcesByExtension } from "../container/src/formats";
import { type FormatRow, formatRows, rowName, tableFamilies, uploadName } from "./format-rows";
import { fixture, form, seedAccount, type TestAccount } from "./harness";
import type { PdfReading } from "./pdf-reader";

const rows = formatRows.filter((row) => row.status === "converts" && row.fixture !== null);

// The test converter runs two LibreOffice instances: three conversions in flight keep both busy without
// piling up behind its queue. A test starts its own row's conversion and the next ones' (tests run in row
// order, so theirs are under way when they start; a test filtered out by -t costs at most a neighbour's).
const CONCURRENCY = 3;

interface Proof {
  upload: { status: number; body: any };
  convert?: { status: number; body: any };
  pdf?: PdfReading;
  /** For a PDF source: the page images of pages=all. */
  images?: string[];
  error?: string;
}

/** Collapsed whitespace: pdftotext breaks lines and pads table cells where LibreOffice's layout put them. */
const flat = (text: string) => text.normalize("NFC").replace(/\s+/g, " ").trim();

async function readPdf(bytes: Uint8Array): Promise<PdfReading> {
  const res = await fetch(`http://127.0.0.1:${inject("pdfReaderPort")}/pdf`, { method: "POST", body: bytes });
  if (res.status !== 200) throw new Error(`pdf reader: ${await res.text()}`);
  return res.json();
}

async function prove(account: TestAccount, row: FormatRow): Promise<Proof> {
  const upload = await account.json("/v1/files", {
    method: "POST",
    body: form({ file: { name: uploadName(row), bytes: fixture(row.fixture!) } }),
  });
  if (upload.status !== 201) return { upload };
  const isPdf = upload.body.source_format === "pdf";
  const fields: Record<string, string> = isPdf ? { format: "png", pages: "all", dpi: "36" } : { format: "pdf" };
  const convert = await account.json(`/v1/files/${upload.body.file_id}/convert`, {
    method: "POST",
    body: form(fields),
  });
  if (convert.status !== 200) return { upload, convert };
  const download = await exports.default.fetch(new Request(convert.body.download_url));
  if (download.status !== 200) return { upload, convert, error: `download answered ${download.status}` };
  const bytes = new Uint8Array(await download.arrayBuffer());
  if (isPdf) return { upload, convert, images: Object.keys(unzipSync(bytes)).sort() };
  return { upload, convert, pdf: await readPdf(bytes) };
}

/** A queue running at most `limit` tasks at a time, in the order they were added. */
function limiter(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

describe("every format that converts, as a PDF with LibreOffice's own page count and its text", () => {
  const proofs = new Map<number, Promise<Proof>>();
  const queue = limiter(CONCURRENCY);
  let account: TestAccount;

  beforeAll(async () => {
    account = await seedAccount({ plan: "pro", credits: 1_000_000 });
  });

  const proofOf = (index: number): Promise<Proof> => {
    for (let i = index; i < Math.min(rows.length, index + CONCURRENCY); i++) {
      if (!proofs.has(i)) {
        proofs.set(
          i,
          queue(() => prove(account, rows[i]!)).catch((err: unknown) => ({
            upload: { status: 0, body: null },
            error: String(err),
          })),
        );
      }
    }
    return proofs.get(index)!;
  };

  it.each(rows.map((row, index) => [rowName(row), row, index] as const))(
    "%s",
    async (_name, row, index) => {
      const proof = await proofOf(index);
      expect(proof.error).toBeUndefined();
      expect(proof.upload.status, JSON.stringify(proof.upload.body)).toBe(201);
      // The detector names a source of the table that goes by the row's extension, of the row's family (a
      // .jpeg is jpg, an .xml is word2003xml, docbook or excel2003xml, a .uof is uos or uop). The bytes decide:
      // the StarOffice 6 template sample's manifest calls it a document (sxw).
      const detected = proof.upload.body.source_format as SourceName;
      expect(sourcesByExtension.get(row.extension === "stw" ? "sxw" : row.extension)).toContain(detected);
      expect(tableFamilies(row)).toContain(sources[detected].family);
      expect(proof.convert?.status, JSON.stringify(proof.convert?.body)).toBe(200);
      if (detected === "pdf") {
        expect(proof.images).toHaveLength(row.cliPdfPages!);
        return; // its text is the fixture's own
      }
      expect(proof.pdf!.pages).toBe(row.cliPdfPages);
      if (row.textProbe) {
        const probe = flat(row.textProbe);
        expect(
          [flat(proof.pdf!.text), flat(proof.pdf!.layoutText)].some((text) => text.includes(probe)),
          `"${probe}" in:\n${proof.pdf!.text.slice(0, 600)}`,
        ).toBe(true);
      }
    },
    180_000,
  );
});
