// Seed 000: "png outputs for slide decks render only the first slide". The PNG docconv answers for a deck, a
// workbook and a multi-page document must be page 1 of the same document's PDF rendering, pixel for pixel
// within a small tolerance: the PDF is made by the API (format=pdf), uploaded again, and its page 1 rendered
// at the same (default) dpi through the converter; both PNGs are decoded by test/png-decode.ts, not by the
// converter's code. Page 2 of that PDF is the control that the comparison can tell pages apart.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { form, seedAccount, type TestAccount, upload } from "./harness";
import { type DecodedPng, decodePng, difference, inkShare } from "./png-decode";

async function rendition(account: TestAccount, fileId: string, fields: Record<string, string>): Promise<Uint8Array> {
  const res = await account.json(`/v1/files/${fileId}/convert`, { method: "POST", body: form(fields) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const file = await exports.default.fetch(new Request(res.body.download_url));
  expect(file.status).toBe(200);
  return new Uint8Array(await file.arrayBuffer());
}

async function png(account: TestAccount, fileId: string, fields: Record<string, string> = {}): Promise<DecodedPng> {
  return decodePng(await rendition(account, fileId, { format: "png", ...fields }));
}

// The same page of the two PDF exports renders identically here (0 pixels differ); the tolerance leaves room
// for anti-aliasing at glyph edges (LibreOffice subsets fonts per export) and stays below what the sparsest
// fixture's page 2 differs by (the docx's second page: 0.07 % of pixels, a header and a footer line).
const SAME_PAGE = { differingShare: 0.0002, meanAbsDelta: 0.05 };

describe.each([
  { kind: "deck", fixtureName: "pptx-raw-text.pptx", pages: 3 },
  { kind: "workbook", fixtureName: "xlsx-many-sheets.xlsx", pages: 2 },
  { kind: "multi-page document", fixtureName: "docx-header-footer.docx", pages: 2 },
])("png of a $kind from POST /v1/files/{file_id}/convert", ({ fixtureName, pages }) => {
  it("is page 1 of the document's PDF rendering, pixel for pixel within a small tolerance", async () => {
    const account = await seedAccount({ credits: 200 });
    const source = await upload(account, fixtureName);
    const firstPage = await png(account, source.file_id);

    const pdf = await rendition(account, source.file_id, { format: "pdf" });
    expect(new TextDecoder("latin1").decode(pdf).match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length).toBe(pages);
    const pdfFile = await upload(account, "rendered.pdf", pdf);
    const [pdfPage1, pdfPage2] = await Promise.all([
      png(account, pdfFile.file_id),
      png(account, pdfFile.file_id, { pages: "2" }),
    ]);

    expect(inkShare(firstPage)).toBeGreaterThan(0.001); // something is drawn
    expect([firstPage.width, firstPage.height]).toEqual([pdfPage1.width, pdfPage1.height]);
    const same = difference(firstPage, pdfPage1);
    expect(same.differingShare, JSON.stringify(same)).toBeLessThan(SAME_PAGE.differingShare);
    expect(same.meanAbsDelta, JSON.stringify(same)).toBeLessThan(SAME_PAGE.meanAbsDelta);
    // The control: another page of the same PDF is told apart by the same measure.
    const other = difference(firstPage, pdfPage2);
    expect(other.differingShare, JSON.stringify(other)).toBeGreaterThan(SAME_PAGE.differingShare * 2);
  });
});
