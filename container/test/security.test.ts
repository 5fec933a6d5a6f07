// Documents are untrusted: converting one must not make the converter fetch what it links to (issue 14 item 7):
// linked images, included pictures, linked sections and objects, external references and web functions aimed at
// a loopback HTTP server. The sandbox has no network; the profile refuses to update links besides.
import { createServer } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { isSource } from "../src/formats.ts";
import { aimedAt } from "./attacks.ts";
import { convert, fixture, makeZip } from "./helpers.ts";

let hits: string[] = [];
let port = 0;
const listener = createServer((req, res) => {
  hits.push(req.url ?? "");
  res.writeHead(404).end();
});
beforeAll(
  () =>
    new Promise<void>((resolve) =>
      listener.listen(0, "127.0.0.1", () => {
        port = (listener.address() as { port: number }).port;
        resolve();
      }),
    ),
);
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

/** An ODT whose only image is linked, not embedded: LibreOffice would load it from `url`. */
function odtLinkingTo(url: string): Buffer {
  const content =
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" ' +
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" ' +
    'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2">' +
    '<office:body><office:text><text:p>before<draw:frame draw:name="i" svg:width="2cm" svg:height="2cm" text:anchor-type="as-char">' +
    `<draw:image xlink:href="${url}" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/></draw:frame>after</text:p>` +
    "</office:text></office:body></office:document-content>";
  const manifest =
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">' +
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>' +
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>';
  return makeZip({
    mimetype: "application/vnd.oasis.opendocument.text",
    "content.xml": content,
    "META-INF/manifest.xml": manifest,
  });
}

test("linked images are never fetched (no SSRF through documents)", async () => {
  hits = [];
  const odt = odtLinkingTo(`http://127.0.0.1:${port}/internal-secret.png`);
  for (const to of ["pdf", "docx", "html", "png"]) {
    const res = await convert(odt, { to });
    expect(res.status, to).toBe(200);
  }
  expect(hits).toEqual([]);
});

test("no crafted document fetches anything it references (the conversions are over when we look)", async () => {
  hits = [];
  const base = `http://127.0.0.1:${port}`;
  const cases: [string, string[]][] = [
    ["hostile-includepicture.rtf", ["pdf", "docx"]],
    ["hostile-linked-image.odt", ["pdf", "docx"]],
    ["hostile-linked-image.docx", ["pdf", "odt"]],
    ["hostile-linked-section.odt", ["pdf", "docx"]],
    ["hostile-linked-object.odt", ["pdf"]],
    ["hostile-external-ref.ods", ["csv", "pdf"]],
    ["hostile-html-references.html", ["pdf", "docx", "epub"]],
    ["hostile-svg-image.svg", ["pdf", "png", "jpg"]],
    ["hostile-svg-use.svg", ["pdf", "odg"]],
  ];
  let conversions = 0;
  for (const [name, targets] of cases) {
    const ext = name.slice(name.lastIndexOf(".") + 1);
    for (const to of targets) {
      const res = await convert(aimedAt(name, `${base}/${name}/${to}`), { to, from: ext });
      expect([200, 422], `${name} → ${to}: ${JSON.stringify(res.json)}`).toContain(res.status);
      conversions++;
    }
  }
  // The same references written inline, with an iframe too.
  const html = `<html><body><p>text</p><img src="${base}/html-img.png"><link rel="stylesheet" href="${base}/html.css"><iframe src="${base}/html-frame"></iframe></body></html>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100"><image xlink:href="${base}/svg-image.png" width="50" height="50"/><use xlink:href="${base}/svg-use.svg#x"/></svg>`;
  for (const [ext, body] of [
    ["html", html],
    ["svg", svg],
  ] as const) {
    expect(isSource(ext)).toBe(true);
    const res = await convert(Buffer.from(body), { to: "pdf", from: ext });
    expect([200, 422]).toContain(res.status);
    conversions++;
  }
  expect(conversions).toBeGreaterThanOrEqual(19);
  expect(hits).toEqual([]);
});

test("embedded images still render", async () => {
  const res = await convert(fixture("docx-images.docx"), { to: "html" });
  expect(res.status).toBe(200);
  expect(res.body.toString("utf8").match(/<img[^>]*src="data:image\//g)?.length).toBeGreaterThanOrEqual(2);
});
