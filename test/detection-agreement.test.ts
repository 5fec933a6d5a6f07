// One detector, two doors: every fixture and a set of hostile files go through the Worker's upload path
// (POST /v1/files) and through the converter (POST /convert), and both must reach the same verdict — the same
// format, or the same refusal. Asking the converter for a target the Worker's format does not convert to makes
// it answer right after detection, before LibreOffice (and were its detection to differ, its answer says so). Two differences are by design and asserted as such: the
// converter refuses encrypted documents at once (the Worker accepts them; the job then fails with the same
// code), and only the converter inflates zip entries, so an archive that lies about its sizes passes the
// Worker and stops at the converter.
import { env } from "cloudflare:workers";
import { strToU8, zipSync } from "fflate";
import { describe, expect, inject, it } from "vitest";
import { sources, targets } from "../container/src/formats";
import { laughsSvg } from "../container/test/hostile-builders";
import { fixture, form, seedAccount } from "./harness";

type Verdict = string; // "ok:<format>" or the refusal: "empty", "unsupported:<what>", "corrupt", "zip_bomb", "entity_expansion", "password_protected"

async function viaWorker(name: string, bytes: Uint8Array): Promise<Verdict> {
  const account = await seedAccount();
  const res = await account.json("/v1/files", { method: "POST", body: form({ file: { name, bytes } }) });
  if (res.status === 201) return `ok:${res.body.source_format}`;
  // /v1/files answers in seed 000's vocabulary: the class in `error`, the dotted code in `code`.
  switch (res.body.code) {
    case "request.empty_file":
      return "empty";
    case "request.unsupported_format":
    case "request.format_mismatch":
      return `unsupported:${res.body.detectedFormat ?? "?"}`;
    case "convert.corrupt_input":
      return "corrupt";
    case "convert.zip_bomb":
      return "zip_bomb";
    case "convert.entity_expansion":
      return "entity_expansion";
    case "convert.password_protected":
      return "password_protected";
  }
  return `worker ${res.status} ${res.body.code}`;
}

/** A target `format` does not convert to (any target for a refusal): the converter stops after detection. */
function targetNotOf(format: string | undefined): string {
  const supported: readonly string[] =
    format && format in sources ? sources[format as keyof typeof sources].targets : [];
  return (Object.keys(targets) as string[]).find((t) => !supported.includes(t)) ?? "pdf";
}

async function viaConverter(name: string, bytes: Uint8Array, to: string): Promise<Verdict> {
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  const secret = (env as unknown as Record<string, string | undefined>).CONVERTER_SECRET;
  if (secret) headers["x-converter-secret"] = secret;
  const res = await fetch(`${env.CONVERTER_URL}/convert?to=${to}&filename=${encodeURIComponent(name)}`, {
    method: "POST",
    body: bytes,
    headers,
  });
  if (res.ok) {
    await res.body?.cancel();
    return `ok:${res.headers.get("x-source-format")} (converted to ${to})`;
  }
  const body = (await res.json()) as { error: string; detail: string; sourceFormat?: string };
  if (body.error === "convert.unsupported_format_pair" && body.detail.endsWith(`cannot be converted to ${to}`))
    return `ok:${body.sourceFormat}`;
  switch (body.error) {
    case "convert.empty_input":
      return "empty";
    case "convert.unsupported_format_pair":
      // The converter names an unrecognised input "unknown" where the Worker names none.
      return `unsupported:${body.sourceFormat && body.sourceFormat !== "unknown" ? body.sourceFormat : "?"}`;
    case "convert.corrupt_input":
      return "corrupt";
    case "convert.zip_bomb":
      return "zip_bomb";
    case "convert.entity_expansion":
      return "entity_expansion";
    case "convert.password_protected":
      return "password_protected";
  }
  return `converter ${res.status} ${body.error}`;
}

const CT = "http://schemas.openxmlformats.org/package/2006/content-types";
const bomb = () =>
  zipSync(
    { "[Content_Types].xml": strToU8(`<Types xmlns="${CT}"/>`), "word/document.xml": new Uint8Array(64 * 1024 * 1024) },
    { level: 9 },
  );
function liar(): Uint8Array {
  const zip = bomb();
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const name = (at: number, length: number) => String.fromCharCode(...zip.subarray(at, at + length));
  for (let p = 0; p + 4 <= zip.length; p++) {
    const sig = view.getUint32(p, true);
    if (sig === 0x02014b50 && name(p + 46, view.getUint16(p + 28, true)) === "word/document.xml")
      view.setUint32(p + 24, 1000, true);
    if (sig === 0x04034b50 && name(p + 30, view.getUint16(p + 26, true)) === "word/document.xml")
      view.setUint32(p + 22, 1000, true);
  }
  return zip;
}
function manyReferences(): Uint8Array {
  return strToU8(
    `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY m "${"x".repeat(60_000)}">]><svg xmlns="http://www.w3.org/2000/svg"><text>${"&m;".repeat(600)}</text></svg>`,
  );
}
/** An OLE2 container of an encrypted OOXML package (directory only). */
function encryptedOoxml(): Uint8Array {
  const out = new Uint8Array(512 * 3);
  const v = new DataView(out.buffer);
  out.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  v.setUint16(0x1e, 9, true);
  v.setUint32(0x2c, 1, true);
  v.setUint32(0x30, 1, true);
  v.setUint32(0x44, 0xfffffffe, true);
  out.fill(0xff, 0x4c, 512);
  v.setUint32(0x4c, 0, true);
  out.fill(0xff, 512, 1024);
  v.setUint32(512, 0xfffffffd, true);
  v.setUint32(516, 0xfffffffe, true);
  ["Root Entry", "EncryptionInfo", "EncryptedPackage"].forEach((n, i) => {
    const at = 1024 + i * 128;
    for (let c = 0; c < n.length; c++) v.setUint16(at + c * 2, n.charCodeAt(c), true);
    v.setUint16(at + 0x40, (n.length + 1) * 2, true);
    out[at + 0x42] = i === 0 ? 5 : 2;
    v.setUint32(at + 0x44, 0xffffffff, true);
    v.setUint32(at + 0x48, i === 1 ? 2 : 0xffffffff, true);
    v.setUint32(at + 0x4c, i === 0 ? 1 : 0xffffffff, true);
  });
  return out;
}

const crafted: [string, () => Uint8Array][] = [
  ["sheet.xlsx (CSV text under a signature format's name)", () => strToU8("a,b\n1,2\n")],
  ["data.csv", () => strToU8("a;b;c\n1;2;3\n")],
  ["data (CSV text without a name's extension)", () => strToU8("a,b,c\n1,2,3\n4,5,6\n")],
  ["notes.txt", () => strToU8("just some words\n")],
  ["empty.pdf", () => new Uint8Array()],
  ["mystery.bin", () => Uint8Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 256)],
  ["bomb.docx", bomb],
  ["laughs.svg", laughsSvg],
  ["archive.zip", () => zipSync({ "readme.txt": strToU8("hello") })],
  [
    "deck.pptx (app.xml claims 95 slides)",
    () =>
      zipSync({
        "[Content_Types].xml": strToU8(
          `<Types xmlns="${CT}"><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/></Types>`,
        ),
        "ppt/presentation.xml": strToU8(
          "<p:presentation><p:sldIdLst><p:sldId/><p:sldId/></p:sldIdLst></p:presentation>",
        ),
        "docProps/app.xml": strToU8("<Properties><Slides>95</Slides></Properties>"),
      }),
  ],
];

// Both doors must give these, whatever the other says.
const byDesign: Record<string, { worker: Verdict; converter: Verdict }> = {
  "hostile-password-protected.odt": { worker: "ok:odt", converter: "password_protected" },
  "secret.docx": { worker: "ok:docx", converter: "password_protected" },
  "liar.docx": { worker: "ok:docx", converter: "zip_bomb" },
  // Each entity in budget, but 600 references expand to 36 MB: only the converter counts the whole file.
  "many-references.svg": { worker: "ok:svg", converter: "entity_expansion" },
};

describe("the Worker's upload path and the converter agree", () => {
  const fixtures = Object.keys(inject("fixtures")).filter((name) => name !== "MANIFEST.tsv");
  const cases: [string, () => Uint8Array][] = [
    ...fixtures.map((n) => [n, () => fixture(n)] as [string, () => Uint8Array]),
    ...crafted,
    ["secret.docx", encryptedOoxml],
    ["liar.docx", liar],
    ["many-references.svg", manyReferences],
  ];

  it.each(cases)("%s", async (label, make) => {
    const name = label.split(" ")[0]!.split("/").at(-1)!;
    const bytes = make();
    const worker = await viaWorker(name, bytes);
    const converter = await viaConverter(
      name,
      bytes,
      targetNotOf(worker.startsWith("ok:") ? worker.slice(3) : undefined),
    );
    if (byDesign[name]) expect({ worker, converter }).toEqual(byDesign[name]);
    else expect(converter).toBe(worker);
  });
});
