// Format detection from bytes, on the real fixtures and on crafted containers.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { csvImportOptions, detectFormat } from "../src/engine/detect.ts";
import { resolveSource } from "../src/conversion.ts";
import { ConvertError } from "../src/errors.ts";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "docconv-detect-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, content: Buffer | string): string {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

/** A minimal, structurally valid OLE2 file whose directory holds `streams`. */
function compoundFile(streams: string[]): Buffer {
  const header = Buffer.alloc(512);
  Buffer.from("d0cf11e0a1b11ae1", "hex").copy(header);
  header.writeUInt16LE(0x3e, 0x18);
  header.writeUInt16LE(3, 0x1a);
  header.writeUInt16LE(0xfffe, 0x1c);
  header.writeUInt16LE(9, 0x1e);
  header.writeUInt16LE(6, 0x20);
  header.writeUInt32LE(1, 0x2c); // one FAT sector
  header.writeUInt32LE(1, 0x30); // directory in sector 1
  header.writeUInt32LE(4096, 0x38);
  header.writeUInt32LE(0xfffffffe, 0x3c);
  header.writeUInt32LE(0xfffffffe, 0x44);
  header.fill(0xff, 0x4c);
  header.writeUInt32LE(0, 0x4c); // the FAT is sector 0
  const fat = Buffer.alloc(512, 0xff);
  fat.writeUInt32LE(0xfffffffd, 0);
  fat.writeUInt32LE(0xfffffffe, 4);
  const directory = Buffer.alloc(512);
  ["Root Entry", ...streams].forEach((name, i) => {
    const at = i * 128;
    directory.write(name + "\0", at, "utf16le");
    directory.writeUInt16LE((name.length + 1) * 2, at + 0x40);
    directory[at + 0x42] = i === 0 ? 5 : 2;
  });
  return Buffer.concat([header, fat, directory]);
}

describe("detectFormat", () => {
  test.each([
    ["docx-header-footer.docx", "docx"],
    ["doc-standardized-text.doc", "doc"],
    ["odt-raw-text.odt", "odt"],
    ["rtf-raw-text.rtf", "rtf"],
    ["pdf-raw-text.pdf", "pdf"],
    ["xlsx-many-sheets.xlsx", "xlsx"],
    ["xls-many-sheets.xls", "xls"],
    ["ods-many-sheets.ods", "ods"],
    ["csv-raw-text.csv", "csv"],
    ["pptx-raw-text.pptx", "pptx"],
    ["ppt-notes.ppt", "ppt"],
    ["odp-placeholders.odp", "odp"],
    ["hostile-truncated.docx", "docx"],
    ["hostile-image-named-as.docx", "png"],
    ["hostile-text-named-as.xlsx", "csv"],
    ["hostile-panic.xlsb", "xlsb"],
    ["hostile-password-protected.odt", "odt"],
  ])("%s is %s", async (name, kind) => {
    expect((await detectFormat(fixtures + name)).kind).toBe(kind);
  });

  test("an OOXML file encrypted with a password is recognised without LibreOffice", async () => {
    const detection = await detectFormat(file("secret.docx", compoundFile(["EncryptionInfo", "EncryptedPackage"])));
    expect(detection).toMatchObject({ encrypted: true });
    expect(() => resolveSource(detection, "docx")).toThrow(
      expect.objectContaining({ code: "convert.password_protected" }) as unknown as ConvertError,
    );
  });

  test("OLE2 stream names tell doc, xls and ppt apart", async () => {
    expect((await detectFormat(file("a.bin", compoundFile(["WordDocument", "1Table"])))).kind).toBe("doc");
    expect((await detectFormat(file("b.bin", compoundFile(["Workbook"])))).kind).toBe("xls");
    expect((await detectFormat(file("c.bin", compoundFile(["PowerPoint Document"])))).kind).toBe("ppt");
  });

  test("unrecognised binary is uncertain, so a declared source is used", async () => {
    const detection = await detectFormat(file("blob", Buffer.from([1, 2, 3, 0, 0, 0, 200, 201])));
    expect(detection.certain).toBe(false);
    expect(resolveSource(detection, "doc")).toBe("doc");
    expect(() => resolveSource(detection, undefined)).toThrow(ConvertError);
  });
});

describe("csvImportOptions", () => {
  test("picks the separator that splits the lines consistently", async () => {
    expect(await csvImportOptions(file("semi.csv", "a;b;c\n1;2,5;3\n4;5;6\n"))).toBe("59,34,76,1");
    expect(await csvImportOptions(file("tab.csv", "a\tb\n1\t2\n"))).toBe("9,34,76,1");
    expect(await csvImportOptions(file("comma.csv", 'a,"b;c",d\n1,2,3\n'))).toBe("44,34,76,1");
  });

  test("falls back to Windows-1252 when the bytes are not UTF-8", async () => {
    expect(await csvImportOptions(file("latin.csv", Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2c, 0x31, 0x0a])))).toBe("44,34,1,1");
  });
});
