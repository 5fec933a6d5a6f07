// Issue 14, item 5 — each family converts to each of its targets through the public API, with a content
// check (text present, slide and page counts, picture sizes), from a source that is not one of the twelve
// original formats (those have their own suites): flat ODF for Writer, Calc, Impress and Draw, a PNG for
// pictures, a PDF. The converter-level version, with more sources, is container/test/families.test.ts.
import { exports } from "cloudflare:workers";
import { strFromU8, unzipSync } from "fflate";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { type Family, familyTargets, sources, type TargetName } from "../container/src/formats";
import { fixture, form, seedAccount, type TestAccount } from "./harness";
import type { PdfReading } from "./pdf-reader";
import { decodePng } from "./png-decode";

interface Case {
  family: Family;
  fixture: string;
  /** What the API must call it. */
  source: string;
  probe: string;
  /** Pages or slides LibreOffice's CLI gives it (formats.tsv). */
  pages: number;
}

const cases: Case[] = [
  {
    family: "writer",
    fixture: "formats/fodt-paragraphs-and-tables.fodt",
    source: "fodt",
    probe: "paragraph before the table",
    pages: 1,
  },
  { family: "calc", fixture: "formats/fods-inventory-table.fods", source: "fods", probe: "Banana", pages: 1 },
  { family: "impress", fixture: "formats/fodp-raw-text.fodp", source: "fodp", probe: "I love PowerPoint", pages: 3 },
  { family: "draw", fixture: "formats/fodg-raw-text.fodg", source: "fodg", probe: "I love word documents", pages: 2 },
  { family: "draw", fixture: "formats/png-raw-text.png", source: "png", probe: "", pages: 1 },
  { family: "pdf", fixture: "pdf-raw-text.pdf", source: "pdf", probe: "I love word documents", pages: 2 },
];

const flat = (text: string) => text.normalize("NFC").replace(/\s+/g, " ");
const latin1 = (bytes: Uint8Array) => new TextDecoder("latin1").decode(bytes);
const utf16 = (bytes: Uint8Array) => new TextDecoder("utf-16le").decode(bytes);
const utf8 = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
/** Text of the XML parts of a zip package, tags dropped (a run may split a word across elements). */
const packageText = (bytes: Uint8Array, part: RegExp) =>
  Object.entries(unzipSync(bytes))
    .filter(([name]) => part.test(name))
    .map(([, data]) => strFromU8(data).replace(/<[^>]+>/g, ""))
    .join(" ");

async function readPdf(bytes: Uint8Array): Promise<PdfReading> {
  const res = await fetch(`http://127.0.0.1:${inject("pdfReaderPort")}/pdf`, { method: "POST", body: bytes });
  if (res.status !== 200) throw new Error(`pdf reader: ${await res.text()}`);
  return res.json();
}

/** A JPEG's size from its first start-of-frame marker. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
  let at = 2;
  while (at + 9 < bytes.length) {
    const marker = bytes[at + 1]!;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (marker >= 0xc0 && marker <= 0xc3)
      return { height: (bytes[at + 5]! << 8) | bytes[at + 6]!, width: (bytes[at + 7]! << 8) | bytes[at + 8]! };
    at += 2 + length;
  }
  throw new Error("no SOF marker");
}

/** The files of a result: a ZIP's entries in name order, or the one file. */
const filesOf = (bytes: Uint8Array): Uint8Array[] =>
  bytes[0] === 0x50 && bytes[1] === 0x4b && !/mimetype|\[Content_Types\]/.test(latin1(bytes.subarray(0, 200)))
    ? Object.entries(unzipSync(bytes))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([, data]) => data)
    : [bytes];

/** Checks `bytes` in `target` carry the case's content; returns nothing, fails the test otherwise. */
async function check(
  c: Case,
  target: TargetName,
  bytes: Uint8Array,
  sourceSize: { width: number; height: number } | null,
) {
  const has = (text: string) => (c.probe ? expect(flat(text)).toContain(c.probe) : undefined);
  switch (target) {
    case "pdf": {
      const pdf = await readPdf(bytes);
      expect(pdf.pages).toBe(c.pages);
      return has(pdf.layoutText);
    }
    case "png":
    case "jpg": {
      const images = filesOf(bytes);
      expect(images).toHaveLength(c.pages); // pages=all
      for (const image of images) {
        const size = target === "png" ? await decodePng(image) : jpegSize(image);
        expect(size.width).toBeGreaterThan(100);
        // A picture keeps its proportions: its page is its own size.
        if (sourceSize) expect(size.width / size.height).toBeCloseTo(sourceSize.width / sourceSize.height, 1);
      }
      return;
    }
    case "svg": {
      const pages = filesOf(bytes).map(utf8);
      expect(pages).toHaveLength(c.pages); // pages=all
      for (const svg of pages) {
        expect(svg).toMatch(/<svg[\s>]/);
        expect(svg).not.toMatch(/<script/i);
      }
      return has(pages.join(" ").replace(/<[^>]+>/g, ""));
    }
    case "docx":
      return has(packageText(bytes, /^word\/document\.xml$/));
    case "odt":
    case "ods":
    case "odg":
      expect(strFromU8(unzipSync(bytes).mimetype!)).toBe(
        `application/vnd.oasis.opendocument.${{ odt: "text", ods: "spreadsheet", odg: "graphics" }[target]}`,
      );
      if (target === "odg")
        expect(strFromU8(unzipSync(bytes)["content.xml"]!).match(/<draw:page[\s>]/g)).toHaveLength(c.pages);
      return has(packageText(bytes, /^content\.xml$/));
    case "odp": {
      const content = strFromU8(unzipSync(bytes)["content.xml"]!);
      expect(content.match(/<draw:page[\s>]/g)).toHaveLength(c.pages);
      return has(content.replace(/<[^>]+>/g, ""));
    }
    case "pptx": {
      const files = unzipSync(bytes);
      expect(Object.keys(files).filter((name) => /^ppt\/slides\/slide\d+\.xml$/.test(name))).toHaveLength(c.pages);
      return has(packageText(bytes, /^ppt\/slides\/slide\d+\.xml$/));
    }
    case "xlsx":
      return has(packageText(bytes, /^xl\/(sharedStrings|worksheets\/sheet\d+)\.xml$/));
    case "epub": {
      expect(strFromU8(unzipSync(bytes).mimetype!)).toBe("application/epub+zip");
      return has(packageText(bytes, /\.xhtml$/));
    }
    case "doc":
    case "xls":
    case "ppt":
      // OLE2 files: the text is stored as 8-bit or UTF-16 runs.
      expect(latin1(bytes.subarray(0, 8))).toBe(
        latin1(Uint8Array.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])),
      );
      if (c.probe)
        expect(
          flat(latin1(bytes)).includes(c.probe) ||
            flat(utf16(bytes)).includes(c.probe) ||
            flat(utf16(bytes.subarray(1))).includes(c.probe),
        ).toBe(true);
      return;
    case "rtf":
      expect(latin1(bytes.subarray(0, 5))).toBe("{\\rtf");
      return has(latin1(bytes).replace(/\\[a-z]+-?\d* ?|[{}]/g, ""));
    case "txt":
    case "csv":
      return has(utf8(bytes));
    case "html":
      expect(utf8(bytes)).toMatch(/<html/i);
      return has(utf8(bytes).replace(/<[^>]+>/g, " "));
  }
}

describe("each family converts to each of its targets through the API, with its content", () => {
  let account: TestAccount;
  beforeAll(async () => {
    account = await seedAccount({ plan: "pro", credits: 1_000_000 });
  });

  it.each(cases.map((c) => [`${c.source} (${c.family})`, c] as const))(
    "%s",
    async (_name, c) => {
      const bytes = fixture(c.fixture);
      const upload = await account.json("/v1/files", {
        method: "POST",
        body: form({ file: { name: c.fixture.split("/").pop()!, bytes } }),
      });
      expect(upload.status, JSON.stringify(upload.body)).toBe(201);
      expect(upload.body.source_format).toBe(c.source);
      const sourceSize = c.source === "png" ? await decodePng(bytes) : null;
      // The family's targets, less the source's own format: exactly what the table offers it.
      const targets = familyTargets[c.family].filter((t) =>
        sources[c.source as keyof typeof sources].targets.includes(t),
      );
      expect(targets.length).toBeGreaterThanOrEqual(familyTargets[c.family].length - 1);
      // Two at a time: the test converter has two LibreOffice instances.
      const failures: string[] = [];
      for (let i = 0; i < targets.length; i += 2) {
        await Promise.all(
          targets.slice(i, i + 2).map(async (target) => {
            const fields: Record<string, string> = { format: target };
            if (target === "png" || target === "jpg" || target === "svg") fields.pages = "all";
            if (target === "png" || target === "jpg") fields.dpi = "50";
            const res = await account.json(`/v1/files/${upload.body.file_id}/convert`, {
              method: "POST",
              body: form(fields),
            });
            if (res.status !== 200) return void failures.push(`${target}: ${res.status} ${JSON.stringify(res.body)}`);
            const out = new Uint8Array(
              await (await exports.default.fetch(new Request(res.body.download_url))).arrayBuffer(),
            );
            try {
              await check(c, target, out, sourceSize);
            } catch (err) {
              failures.push(`${target}: ${(err as Error).message}`);
            }
          }),
        );
      }
      expect(failures).toEqual([]);
    },
    240_000,
  );
});
