// Every source → target pair that GET /formats publishes, converted by real LibreOffice and sniffed.
import { beforeAll, describe, expect, test } from "vitest";
import {
  convert,
  csvRows,
  expectedPages,
  fixture,
  getJson,
  checkPng,
  isJpeg,
  isPdf,
  isRtf,
  isZip,
  pdfPages,
  unzip,
  type Converted,
} from "./helpers.ts";
import { sources } from "../src/formats.ts";

/** One real document per source format; page counts come from the corpus manifest. */
const sampleOf: Record<string, string> = {
  docx: "docx-header-footer.docx",
  doc: "doc-standardized-text.doc",
  odt: "odt-raw-text.odt",
  rtf: "rtf-raw-text.rtf",
  pdf: "pdf-raw-text.pdf",
  xlsx: "xlsx-many-sheets.xlsx",
  xls: "xls-many-sheets.xls",
  ods: "ods-many-sheets.ods",
  csv: "csv-raw-text.csv",
  pptx: "pptx-raw-text.pptx",
  ppt: "ppt-notes.ppt",
  odp: "odp-placeholders.odp",
};

const ooxmlPart: Record<string, string> = {
  docx: "word/document.xml",
  xlsx: "xl/workbook.xml",
  pptx: "ppt/presentation.xml",
};
const odfMimetype: Record<string, string> = {
  odt: "application/vnd.oasis.opendocument.text",
  ods: "application/vnd.oasis.opendocument.spreadsheet",
  odp: "application/vnd.oasis.opendocument.presentation",
};

interface Catalog {
  sources: Record<string, { targets: string[]; category: string; mediaType: string }>;
  targets: Record<string, { mediaType: string; multiPage: boolean }>;
}

let catalog: Catalog;
beforeAll(async () => {
  catalog = (await getJson("/formats")).body as Catalog;
});

// Pairs come from the matrix module itself; the first test checks GET /formats publishes the same matrix.
const pairs = Object.entries(sources).flatMap(([source, format]) =>
  format.targets.map((target) => [source, target, sampleOf[source] ?? `no sample for ${source}`] as const),
);

test("the published matrix covers the formats the issue asks for", () => {
  const required: Record<string, string[]> = {
    docx: ["pdf", "html", "txt", "odt"],
    doc: ["pdf", "docx", "html", "txt"],
    xlsx: ["pdf", "csv", "png", "html"],
    xls: ["pdf", "csv", "xlsx", "html"],
    pptx: ["pdf", "png", "odp"],
    ppt: ["pdf", "pptx", "png"],
    odt: ["pdf", "docx", "html", "txt"],
    rtf: ["pdf", "docx", "html", "txt"],
    ods: ["pdf", "xlsx", "csv", "html"],
    csv: ["pdf", "xlsx", "csv", "html"],
    odp: ["pdf", "pptx", "png"],
    pdf: ["png", "jpg"],
  };
  for (const [source, targets] of Object.entries(required)) {
    expect(catalog.sources[source]?.targets, source).toEqual(expect.arrayContaining(targets));
  }
  expect(Object.keys(catalog.sources).sort()).toEqual(Object.keys(sampleOf).sort());
  expect(JSON.parse(JSON.stringify(sources))).toEqual(catalog.sources);
});

describe.concurrent("every published pair converts", () => {
  for (const [source, target, file] of pairs) {
    test(`${source} → ${target}`, async () => {
      const res = await convert(fixture(file), { to: target, from: source });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.headers.get("x-source-format")).toBe(source);
      expect(Number(res.headers.get("content-length"))).toBe(res.body.length);
      checkOutput(source, target, file, res);
    });
  }
});

function checkOutput(source: string, target: string, file: string, res: Converted): void {
  const { body, headers } = res;
  const pages = expectedPages[file]!;
  const extension = headers.get("x-output-extension");
  const files = Number(headers.get("x-output-files"));
  expect(pages, `manifest pages of ${file}`).toBeGreaterThan(0);

  switch (target) {
    case "pdf":
      expect(isPdf(body)).toBe(true);
      expect(headers.get("content-type")).toBe("application/pdf");
      // Same page count as LibreOffice's own CLI gave for this file.
      expect(pdfPages(body)).toBe(pages);
      expect(Number(headers.get("x-output-pages"))).toBe(pages);
      break;
    case "png":
    case "jpg": {
      const sniff = target === "png" ? (b: Buffer) => checkPng(b).width > 0 : isJpeg;
      expect(Number(headers.get("x-output-pages"))).toBe(pages);
      if (pages === 1) {
        expect(extension).toBe(target);
        expect(headers.get("content-type")).toBe(target === "png" ? "image/png" : "image/jpeg");
        expect(sniff(body)).toBe(true);
      } else {
        expect(extension).toBe("zip");
        expect(headers.get("content-type")).toBe("application/zip");
        const entries = unzip(body);
        const expectedNames = Array.from({ length: pages }, (_, i) => `page-${String(i + 1).padStart(3, "0")}.${target}`);
        expect([...entries.keys()]).toEqual(expectedNames);
        for (const image of entries.values()) expect(sniff(image)).toBe(true);
        expect(files).toBe(pages);
      }
      break;
    }
    case "html": {
      expect(headers.get("content-type")).toBe("text/html; charset=utf-8");
      const html = body.toString("utf8");
      expect(html).toMatch(/<html/i);
      // Self-contained: every image is inline.
      for (const [, src] of html.matchAll(/<img[^>]*\ssrc="([^"]*)"/gi)) expect(src).toMatch(/^data:image\//);
      break;
    }
    case "txt": {
      expect(headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(body.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
      expect(new TextDecoder("utf-8", { fatal: true }).decode(body).trim().length).toBeGreaterThan(20);
      break;
    }
    case "csv": {
      expect(headers.get("content-type")).toBe("text/csv; charset=utf-8");
      const rows = csvRows(body.toString("utf8"));
      expect(rows.length).toBeGreaterThan(source === "csv" ? 50 : 1);
      break;
    }
    case "rtf":
      expect(isRtf(body)).toBe(true);
      break;
    case "docx":
    case "xlsx":
    case "pptx": {
      expect(isZip(body)).toBe(true);
      const entries = unzip(body);
      expect([...entries.keys()]).toEqual(expect.arrayContaining(["[Content_Types].xml", ooxmlPart[target]]));
      if (target === "pptx") {
        // A deck's X-Output-Pages is its slide count, as its own structure (sldIdLst) holds it.
        const slides = entries.get("ppt/presentation.xml")!.toString("utf8").match(/<p:sldId\b/g)?.length;
        expect(Number(headers.get("x-output-pages"))).toBe(slides);
        expect(slides).toBe(pages);
      } else {
        expect(headers.get("x-output-pages")).toBeNull();
      }
      break;
    }
    case "odt":
    case "ods":
    case "odp": {
      expect(isZip(body)).toBe(true);
      const entries = unzip(body);
      expect(entries.get("mimetype")?.toString()).toBe(odfMimetype[target]);
      expect(entries.has("content.xml")).toBe(true);
      if (target === "odp") {
        const slides = entries.get("content.xml")!.toString("utf8").match(/<draw:page[\s>]/g)?.length;
        expect(Number(headers.get("x-output-pages"))).toBe(slides);
        expect(slides).toBe(pages);
      } else {
        expect(headers.get("x-output-pages")).toBeNull();
      }
      break;
    }
    default:
      throw new Error(`no check for ${target}`);
  }
  if (target !== "png" && target !== "jpg") {
    expect(extension).toBe(target);
    expect(files).toBe(1);
  }
}
