// Every target of the twelve original sources (seed 000's and more), converted by real LibreOffice and checked
// for content: text (pdftotext, the OOXML/ODF parts, the binary formats' text, EPUB's XHTML, SVG), pages,
// rows, slides. The other sources' families are proven in families.test.ts, every fixture by the proof suite.
import { beforeAll, describe, expect, test } from "vitest";
import { bytesSource, detect } from "../src/detect/index.ts";
import { sources } from "../src/formats.ts";
import {
  binaryContains,
  type Converted,
  checkPng,
  convert,
  csvRows,
  expectedPages,
  fixture,
  getJson,
  isJpeg,
  isPdf,
  isRtf,
  isZip,
  pdfPages,
  pdfText,
  textProbe,
  unzip,
} from "./helpers.ts";

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
  odg: "application/vnd.oasis.opendocument.graphics",
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
const pairs = Object.entries(sampleOf).flatMap(([source, file]) =>
  sources[source as keyof typeof sources].targets.map((target) => [source, target, file] as const),
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
  expect(Object.keys(catalog.sources)).toEqual(expect.arrayContaining(Object.keys(sampleOf)));
  expect(JSON.parse(JSON.stringify(sources))).toEqual(catalog.sources);
});

describe.concurrent("every published pair converts", () => {
  for (const [source, target, file] of pairs) {
    test(`${source} → ${target}`, async () => {
      const res = await convert(fixture(file), { to: target, from: source, filename: file });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.headers.get("x-source-format")).toBe(source);
      expect(Number(res.headers.get("content-length"))).toBe(res.body.length);
      await checkOutput(source, target, file, res);
    });
  }
});

export async function checkOutput(source: string, target: string, file: string, res: Converted): Promise<void> {
  const { body, headers } = res;
  const pages = expectedPages[file]!;
  const probe = textProbe[file] ?? "";
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
      expect(pdfText(body).replace(/\s+/g, " ")).toContain(probe);
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
        const expectedNames = Array.from(
          { length: pages },
          (_, i) => `page-${String(i + 1).padStart(3, "0")}.${target}`,
        );
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
    case "doc":
    case "xls":
    case "ppt": {
      // An OLE2 file with its kind's stream (the shared detector reads the directory), holding the text.
      expect(await detect(bytesSource(body))).toMatchObject({ ok: true, format: target });
      if (probe) expect(binaryContains(body, probe), probe).toBe(true);
      // No 440-590 KB first-slide preview in a .ppt (the profile's EnablePowerPointPreview=false).
      if (target === "ppt") expect(body.length).toBeLessThan(200 * 1024);
      break;
    }
    case "epub": {
      const entries = unzip(body);
      expect(entries.get("mimetype")?.toString()).toBe("application/epub+zip");
      const opf = entries.get("OEBPS/content.opf")!.toString("utf8");
      expect(opf).toContain('version="3.0"');
      // The title is the upload's name (the test sends the fixture's), never "Unknown Title".
      expect(opf).toContain(`<dc:title>${file.replace(/\.[^.]+$/, "")}</dc:title>`);
      const xhtml = [...entries]
        .filter(([name]) => name.endsWith(".xhtml"))
        .map(([, b]) => b.toString("utf8"))
        .join("\n");
      if (probe) expect(xhtml.replace(/<[^>]+>/g, "")).toContain(probe);
      break;
    }
    case "svg": {
      const svgs = pages === 1 ? [body] : [...unzip(body).values()];
      expect(svgs).toHaveLength(pages);
      expect(Number(headers.get("x-output-pages"))).toBe(pages);
      if (pages > 1)
        expect([...unzip(body).keys()]).toEqual(
          Array.from({ length: pages }, (_, i) => `page-${String(i + 1).padStart(3, "0")}.svg`),
        );
      const all = svgs.map((b) => b.toString("utf8")).join("\n");
      for (const svg of svgs) expect(svg.toString()).toContain("<svg");
      expect(all).not.toMatch(/<script/i);
      if (probe) expect(all.replace(/<[^>]+>/g, "")).toContain(probe);
      break;
    }
    case "docx":
    case "xlsx":
    case "pptx": {
      expect(isZip(body)).toBe(true);
      const entries = unzip(body);
      expect([...entries.keys()]).toEqual(expect.arrayContaining(["[Content_Types].xml", ooxmlPart[target]]));
      if (target === "pptx") {
        // A deck's X-Output-Pages is its slide count, as its own structure (sldIdLst) holds it.
        const slides = entries
          .get("ppt/presentation.xml")!
          .toString("utf8")
          .match(/<p:sldId\b/g)?.length;
        expect(Number(headers.get("x-output-pages"))).toBe(slides);
        expect(slides).toBe(pages);
      } else {
        expect(headers.get("x-output-pages")).toBeNull();
      }
      break;
    }
    case "odt":
    case "ods":
    case "odp":
    case "odg": {
      expect(isZip(body)).toBe(true);
      const entries = unzip(body);
      expect(entries.get("mimetype")?.toString()).toBe(odfMimetype[target]);
      expect(entries.has("content.xml")).toBe(true);
      if (target === "odp") {
        const slides = entries
          .get("content.xml")!
          .toString("utf8")
          .match(/<draw:page[\s>]/g)?.length;
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
  if (target !== "png" && target !== "jpg" && target !== "svg") {
    expect(extension).toBe(target);
    expect(files).toBe(1);
  }
}
