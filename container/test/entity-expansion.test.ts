// Entity expansion ("billion laughs"): a 520-byte SVG of nested internal entities held a LibreOffice for the
// whole 120 s conversion timeout. The detector budgets every markup DOCTYPE's entities (container/src/detect/
// entities.ts) in the Worker and the converter alike, and the converter counts the references across the whole
// file; the flat entities Adobe Illustrator writes still convert.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { strToU8, zipSync } from "fflate";
import { describe, expect, test } from "vitest";
import { bytesSource, detect, ENTITY_LIMITS, refuseFromHead } from "../src/detect/index.ts";
import { convert, isPdf, pdfText } from "./helpers.ts";
import { illustratorSvg, LAUGHS_DOCTYPE, laughsSvg } from "./hostile-builders.ts";

const utf8 = (text: string) => Buffer.from(text, "utf8");
const svgWith = (doctype: string, body = "&x;") =>
  utf8(`<?xml version="1.0"?>${doctype}<svg xmlns="http://www.w3.org/2000/svg"><text>${body}</text></svg>`);

/** The detector's verdict as the Worker reaches it (head only, no inflation of the whole file), and the converter's. */
async function bothDoors(bytes: Uint8Array, name: string) {
  return {
    worker: await detect(bytesSource(bytes), { name }),
    converter: await detect(bytesSource(bytes), { name, inflateAll: true }),
  };
}

/** Each DOCTYPE, in an SVG, is refused by the detector for entity expansion with `detail` in its message. */
async function expectRefused(doctypes: string[], detail: string) {
  for (const doctype of doctypes) {
    expect(await detect(bytesSource(svgWith(doctype)), { name: "x.svg" }), doctype).toMatchObject({
      ok: false,
      reason: "entity_expansion",
      detail: expect.stringContaining(detail),
    });
  }
}

describe("nested entities are refused before any parser expands them", () => {
  test("the red team's laughs.svg: refused from the head by both doors, after reading its 520 bytes", async () => {
    const svg = laughsSvg();
    expect(createHash("sha256").update(svg).digest("hex")).toBe(
      "b833dc7b5ef240727ebd4c1e6148aaf394c3428910a6ff1361dc4b61fe9644e5", // /work/wt/attack3/attack/docs/laughs.svg
    );
    const { worker, converter } = await bothDoors(svg, "laughs.svg");
    for (const detection of [worker, converter]) {
      expect(detection).toMatchObject({
        ok: false,
        reason: "entity_expansion",
        detected: "svg",
        detail: expect.stringContaining("expands past 65536 characters"),
      });
      expect(detection.work).toEqual({ read: 520, inflated: 0 });
    }
    // The Worker's first look at an upload's first bytes says the same.
    expect(refuseFromHead(svg, true, { name: "laughs.svg" })).toMatchObject({ reason: "entity_expansion" });
  });

  test("svgz: the inflated head is budgeted, without inflating more of it", async () => {
    const detection = await detect(bytesSource(gzipSync(laughsSvg())), { name: "laughs.svgz", inflateAll: true });
    expect(detection).toMatchObject({ ok: false, reason: "entity_expansion", detected: "svgz" });
    expect(detection.work.inflated).toBe(520);
  });

  const NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
  const variants: [string, string, string][] = [
    [
      "fodt",
      "laughs.fodt",
      `<?xml version="1.0"?>${LAUGHS_DOCTYPE("r")}<office:document xmlns:office="${NS_OFFICE}" office:mimetype="application/vnd.oasis.opendocument.text"><office:body><office:text>&j;</office:text></office:body></office:document>`,
    ],
    [
      "word2003xml",
      "laughs.xml",
      `<?xml version="1.0"?><?mso-application progid="Word.Document"?>${LAUGHS_DOCTYPE("w:wordDocument")}<w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml"><w:body><w:p><w:r><w:t>&j;</w:t></w:r></w:p></w:body></w:wordDocument>`,
    ],
    [
      "excel2003xml",
      "laughs.xml",
      `<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>${LAUGHS_DOCTYPE("Workbook")}<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table><Row><Cell><Data>&j;</Data></Cell></Row></Table></Worksheet></Workbook>`,
    ],
    ["html", "laughs.html", `${LAUGHS_DOCTYPE("html")}<html><body><p>&j;</p></body></html>`],
    [
      "xhtml",
      "laughs.xhtml",
      `<?xml version="1.0"?>${LAUGHS_DOCTYPE("html")}<html xmlns="http://www.w3.org/1999/xhtml"><body><p>&j;</p></body></html>`,
    ],
    [
      "docbook",
      "laughs.xml",
      `<?xml version="1.0"?>${LAUGHS_DOCTYPE("article").replace("[", 'PUBLIC "-//OASIS//DTD DocBook XML V4.5//EN" "docbookx.dtd" [')}<article><para>&j;</para></article>`,
    ],
    ["xml (no known dialect)", "laughs.xml", `<?xml version="1.0"?>${LAUGHS_DOCTYPE("r")}<r>&j;</r>`],
    // LibreOffice's own type detection may still read text as XML: the name does not exempt it.
    ["txt (named as text)", "laughs.txt", `<?xml version="1.0"?>${LAUGHS_DOCTYPE("svg")}<svg>&j;</svg>`],
  ];
  test.each(variants)("%s", async (format, name, text) => {
    const bytes = utf8(text);
    const { worker, converter } = await bothDoors(bytes, name);
    expect(worker).toMatchObject({ ok: false, reason: "entity_expansion" });
    expect(converter).toMatchObject({ ok: false, reason: "entity_expansion" });
    expect(refuseFromHead(bytes, true, { name })).toMatchObject({ reason: "entity_expansion" });
    if (!format.includes(" ")) expect(worker).toMatchObject({ detected: format });
  });

  test("UTF-16 is read as text like any other encoding", async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(new TextDecoder().decode(laughsSvg()), "utf16le"),
    ]);
    expect(await detect(bytesSource(bytes), { name: "laughs.svg" })).toMatchObject({ reason: "entity_expansion" });
  });

  test("a chain deeper than the limit is refused even when every entity stays small", async () => {
    const chain =
      '<!DOCTYPE svg [<!ENTITY a "a"><!ENTITY b "&a;"><!ENTITY c "&b;"><!ENTITY d "&c;"><!ENTITY e "&d;">]>';
    expect(ENTITY_LIMITS.maxDepth).toBe(4);
    expect(await detect(bytesSource(svgWith(chain, "&e;")), { name: "x.svg" })).toMatchObject({
      ok: false,
      reason: "entity_expansion",
      detail: expect.stringContaining("nest more than 4 deep"),
    });
    // Four levels (DocBook's product → version → title style) are fine.
    const four = chain.replace('<!ENTITY e "&d;">', "");
    expect(await detect(bytesSource(svgWith(four, "&d;")), { name: "x.svg", inflateAll: true })).toMatchObject({
      ok: true,
      format: "svg",
    });
  });

  test("an entity cycle is refused (a parser would never finish it)", async () => {
    await expectRefused(
      ['<!DOCTYPE svg [<!ENTITY x "&y;"><!ENTITY y "ha &x;">]>', '<!DOCTYPE svg [<!ENTITY x "again &x;">]>'],
      "refers to itself",
    );
  });

  test("parameter entities are refused: declared, referenced, or in an entity's value", async () => {
    await expectRefused(
      [
        "<!DOCTYPE svg [<!ENTITY % p \"<!ENTITY x 'ha'>\">]>",
        "<!DOCTYPE svg [<!ENTITY % p \"<!ENTITY x 'ha'>\"> %p;]>",
        '<!DOCTYPE svg [%p;<!ENTITY x "ha">]>',
      ],
      "parameter entity",
    );
  });

  test("external entities are refused: what they would read cannot be budgeted", async () => {
    await expectRefused(
      [
        '<!DOCTYPE svg [<!ENTITY x SYSTEM "/dev/zero">]>',
        '<!DOCTYPE svg [<!ENTITY x PUBLIC "-//X//Y//EN" "file:///etc/passwd">]>',
      ],
      "external",
    );
  });

  test("an attribute default that refers to an entity is refused (it expands in every element of its type)", async () => {
    const doctype = `<!DOCTYPE svg [<!ENTITY m "${"m".repeat(1000)}"><!ATTLIST text title CDATA "&m;">]>`;
    expect(await detect(bytesSource(svgWith(doctype, "hi")), { name: "x.svg" })).toMatchObject({
      ok: false,
      reason: "entity_expansion",
      detail: expect.stringContaining("attribute default"),
    });
  });

  test("a value holding ']' and '>' does not end the subset early; a malformed subset is corrupt", async () => {
    const tricky = `<!DOCTYPE svg [<!ENTITY x "]> <!ENTITY y 'z'>"><!-- ]> --><?pi ]>?>]>`;
    expect(await detect(bytesSource(svgWith(tricky)), { name: "x.svg", inflateAll: true })).toMatchObject({
      ok: true,
      format: "svg",
    });
    // With a naive end (the first "]>"), the bomb after it would be missed.
    const hidden = LAUGHS_DOCTYPE("svg").replace("[", `[<!ENTITY q "]>">`);
    expect(await detect(bytesSource(svgWith(hidden, "&j;")), { name: "x.svg" })).toMatchObject({
      reason: "entity_expansion",
    });
    expect(await detect(bytesSource(svgWith("<!DOCTYPE svg [<!BOGUS x>]>")), { name: "x.svg" })).toMatchObject({
      ok: false,
      reason: "corrupt",
    });
  });

  test("a DOCTYPE longer than the head is read from the first 64 KiB; one longer than that is refused", async () => {
    const padded = (bytes: number) => `<!DOCTYPE svg [<!-- ${"p".repeat(bytes)} --><!ENTITY x "flat">]>`;
    const long = svgWith(padded(20_000));
    expect(refuseFromHead(long.subarray(0, 8192), false, { name: "x.svg" })).toBeNull(); // the head cannot tell
    expect(await detect(bytesSource(long), { name: "x.svg", inflateAll: true })).toMatchObject({
      ok: true,
      format: "svg",
    });
    const bomb = svgWith(LAUGHS_DOCTYPE("svg").replace("[", `[<!-- ${"p".repeat(20_000)} -->`), "&j;");
    expect(await detect(bytesSource(bomb), { name: "x.svg" })).toMatchObject({ reason: "entity_expansion" });
    const tooLong = svgWith(padded(70_000));
    expect(await detect(bytesSource(tooLong), { name: "x.svg" })).toMatchObject({
      ok: false,
      reason: "entity_expansion",
      detail: expect.stringContaining("runs past the first 65536 bytes"),
    });
    expect(await detect(bytesSource(gzipSync(tooLong)), { name: "x.svgz", inflateAll: true })).toMatchObject({
      ok: false,
      reason: "entity_expansion",
      detail: expect.stringContaining("inflated bytes"),
    });
  });

  test("many references to a medium entity: the Worker's head check passes it, the converter's count of the whole file refuses it", async () => {
    // 60,000 characters × 600 references = 36 MB expanded, past the 32 MiB total; each entity alone is in budget.
    const bytes = svgWith(`<!DOCTYPE svg [<!ENTITY m "${"x".repeat(60_000)}">]>`, "&m;".repeat(600));
    for (const [name, source] of [
      ["x.svg", bytes],
      ["x.svgz", gzipSync(bytes)],
    ] as const) {
      const { worker, converter } = await bothDoors(source, name);
      expect(worker).toMatchObject({ ok: true });
      expect(converter).toMatchObject({
        ok: false,
        reason: "entity_expansion",
        detail: expect.stringContaining("in all"),
      });
    }
    // 500 references (30 MB) are within it; references cut across chunks are counted too (one byte per chunk).
    const fewer = svgWith(`<!DOCTYPE svg [<!ENTITY m "${"x".repeat(60_000)}">]>`, "&m;".repeat(500));
    expect(await detect(bytesSource(fewer), { name: "x.svg", inflateAll: true })).toMatchObject({ ok: true });
    const chunked = {
      size: bytes.length,
      read: async (offset: number, length: number) => bytes.subarray(offset, offset + length),
      // 7-byte chunks: most "&m;" references are cut by a chunk's end.
      stream: (offset: number, length: number) => {
        let at = offset;
        return new ReadableStream<Uint8Array>({
          pull(controller) {
            if (at >= offset + length) return controller.close();
            controller.enqueue(bytes.subarray(at, Math.min(at + 7, offset + length)));
            at += 7;
          },
        });
      },
    };
    expect(await detect(chunked, { name: "x.svg", inflateAll: true })).toMatchObject({
      reason: "entity_expansion",
      detail: expect.stringContaining("in all"),
    });
  });

  test("a package's parts are budgeted as the converter inflates them: an SVG picture in an odt, a docx part", async () => {
    const odt = (extra: Record<string, Uint8Array>) =>
      zipSync({
        mimetype: strToU8("application/vnd.oasis.opendocument.text"),
        "content.xml": strToU8('<?xml version="1.0"?><office:document-content/>'),
        ...extra,
      });
    const withPicture = await bothDoors(odt({ "Pictures/laughs.svg": laughsSvg() }), "x.odt");
    expect(withPicture.worker).toMatchObject({ ok: true, format: "odt" }); // the Worker inflates no picture
    expect(withPicture.converter).toMatchObject({
      ok: false,
      reason: "entity_expansion",
      detail: expect.stringContaining("Pictures/laughs.svg: the entity e expands past"),
    });
    const many = svgWith(`<!DOCTYPE svg [<!ENTITY m "${"x".repeat(60_000)}">]>`, "&m;".repeat(600));
    expect(
      await detect(bytesSource(odt({ "Pictures/many.svg": many })), { name: "x.odt", inflateAll: true }),
    ).toMatchObject({ reason: "entity_expansion", detail: expect.stringContaining("in all") });
    // Flat entities (an Illustrator picture) and parts that are not markup pass.
    expect(
      await detect(bytesSource(odt({ "Pictures/ai.svg": illustratorSvg("x"), "Pictures/p.png": new Uint8Array(9) })), {
        name: "x.odt",
        inflateAll: true,
      }),
    ).toMatchObject({ ok: true, format: "odt" });
  });

  test("a DOCTYPE without an internal subset is left as it was, sloppy HTML's unclosed quote included", async () => {
    const sloppy = utf8('<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN><html><body>hi</body></html>');
    expect(await detect(bytesSource(sloppy), { name: "x.html", inflateAll: true })).toMatchObject({
      ok: true,
      format: "html",
    });
  });

  test("Adobe Illustrator's flat namespace entities pass both doors", async () => {
    const { worker, converter } = await bothDoors(illustratorSvg("Hello entities"), "ai.svg");
    expect(worker).toMatchObject({ ok: true, format: "svg" });
    expect(converter).toMatchObject({ ok: true, format: "svg" });
  });
});

describe.concurrent("the converter, before LibreOffice", () => {
  test("laughs.svg is 422 convert.entity_expansion, refused by detection, before LibreOffice", async () => {
    const res = await convert(laughsSvg(), { to: "pdf", filename: "laughs.svg" });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: "convert.entity_expansion" });
  });

  test("many references to a medium entity are 422 convert.entity_expansion (the whole file counted)", async () => {
    const bytes = svgWith(`<!DOCTYPE svg [<!ENTITY m "${"x".repeat(60_000)}">]>`, "&m;".repeat(600));
    const res = await convert(gzipSync(bytes), { to: "pdf", filename: "many.svgz" });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: "convert.entity_expansion", detail: expect.stringContaining("in all") });
  });

  test("an Illustrator SVG with its flat entities converts to PDF with its text", async () => {
    const res = await convert(illustratorSvg("Hello entities"), { to: "pdf", filename: "ai.svg" });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(isPdf(res.body)).toBe(true);
    expect(pdfText(res.body)).toContain("Hello entities");
  });
});
