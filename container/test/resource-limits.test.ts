// Resource caps, on a server of its own with small ones: LibreOffice's memory (RSS watchdog), CPU time and output
// size (RLIMIT_FSIZE: soffice dies of SIGXFSZ), and poppler's address space and file size. Hitting one is 422
// convert.resource_limit, never a crash to retry; a LibreOffice that hit one is replaced, and the next document
// converts.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { randomPng } from "./attacks.ts";
import { convert, fixture, isPdf, isPng, makeZip, pdfPages } from "./helpers.ts";
import { health, sofficePids, startTestServer, type TestServer, waitForHealth } from "./server-process.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    CONVERTER_INSTANCES: "1",
    CONVERTER_MEMORY_LIMIT_MB: "450", // a warm soffice holds ~230 MB
    CONVERTER_MAX_OUTPUT_MB: "4",
    CONVERTER_TOOL_MEMORY_LIMIT_MB: "100", // pdftoppm renders a page at 150 dpi in that, not at 600
  });
});
afterAll(async () => {
  expect(await server.stop()).toEqual({ processes: [], files: [], exitCode: 0 });
});

const ready = (on = server) =>
  waitForHealth(on, (h) => h.instances.ready === 1 && h.instances.starting === 0, "a warm instance", 90_000);

/** Converts `doc`, expects the cap's answer, and checks the instance was replaced (not retried) and serves again. */
async function hitsCap(doc: Buffer, query: Record<string, string | number>, resource: string, on = server) {
  await ready(on);
  const before = await health(on);
  const [pidBefore] = sofficePids(on);
  const res = await convert(doc, query, on.url);
  expect(res.status, JSON.stringify(res.json)).toBe(422);
  expect(res.json).toMatchObject({ error: "convert.resource_limit", resource });
  const after = await ready(on);
  expect(after.limited - before.limited).toBe(1);
  expect(after.crashed).toBe(before.crashed); // the cap, not a crash: no retry on a second instance
  expect(sofficePids(on)).not.toContain(pidBefore);
  const next = await convert(fixture("docx-header-footer.docx"), { to: "pdf" }, on.url);
  expect(next.status).toBe(200);
  expect(pdfPages(next.body)).toBe(2);
  return res;
}

describe("LibreOffice's caps", () => {
  test("a document that asks for more memory than the cap ends with convert.resource_limit and a fresh instance", async () => {
    const res = await hitsCap(fixture("hostile-memory-bomb.ods"), { to: "pdf" }, "memory");
    expect(String(res.json!.detail)).toMatch(/MiB/);
  });

  test("output past RLIMIT_FSIZE kills soffice with SIGXFSZ, answered as the cap", async () => {
    // ~5 MB of incompressible pixels: the docx LibreOffice writes cannot stay under 4 MB.
    await hitsCap(odtWithImage(randomPng(1300, 1300)), { to: "docx", from: "odt" }, "output");
  });
});

describe("LibreOffice's CPU time (a server of its own: the looping document also grows ~70 MB a CPU second)", () => {
  let cpuBound: TestServer;
  beforeAll(async () => {
    cpuBound = await startTestServer({ CONVERTER_INSTANCES: "1", CONVERTER_CPU_LIMIT_SECONDS: "2" });
  });
  afterAll(async () => {
    expect(await cpuBound.stop()).toEqual({ processes: [], files: [], exitCode: 0 });
  });

  test("a document that keeps LibreOffice busy past its CPU seconds ends with convert.resource_limit", async () => {
    // It never finishes loading; the CPU cap (2 s) comes long before the 60 s timeout.
    const started = Date.now();
    await hitsCap(fixture("hostile-dos.ods"), { to: "pdf", timeout: 60 }, "cpu", cpuBound);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe("poppler's caps (nothing to replace: each run is its own process)", () => {
  test("a page too large for pdftoppm's address space is convert.resource_limit", async () => {
    const res = await convert(fixture("pdf-raw-text.pdf"), { to: "png", dpi: 600, pages: 1 }, server.url);
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: "convert.resource_limit", resource: "memory" });
  });

  test("a raw page past the file size cap is convert.resource_limit; smaller pages render", async () => {
    const big = await convert(fixture("pdf-raw-text.pdf"), { to: "png", dpi: 150, pages: 1 }, server.url); // 6.3 MB raw
    expect(big.status).toBe(422);
    expect(big.json).toMatchObject({ error: "convert.resource_limit", resource: "output" });
    const small = await convert(fixture("pdf-raw-text.pdf"), { to: "png", dpi: 72, pages: 1 }, server.url);
    expect(small.status).toBe(200);
    expect(isPng(small.body)).toBe(true);
    expect(isPdf((await convert(fixture("docx-header-footer.docx"), { to: "pdf" }, server.url)).body)).toBe(true);
  });
});

function odtWithImage(png: Buffer): Buffer {
  const ns =
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" ' +
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" ' +
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2"';
  return makeZip({
    mimetype: "application/vnd.oasis.opendocument.text",
    "content.xml":
      `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${ns}><office:body><office:text><text:p>` +
      '<draw:frame draw:name="noise" svg:width="10cm" svg:height="10cm" text:anchor-type="as-char"><draw:image xlink:href="Pictures/noise.png" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/></draw:frame>' +
      "</text:p></office:text></office:body></office:document-content>",
    "META-INF/manifest.xml":
      '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">' +
      '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>' +
      '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>' +
      '<manifest:file-entry manifest:full-path="Pictures/noise.png" manifest:media-type="image/png"/></manifest:manifest>',
    "Pictures/noise.png": png,
  });
}
