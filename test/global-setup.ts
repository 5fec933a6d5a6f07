import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateSync } from "node:zlib";
import type { TestProject } from "vitest/node";
import { startConverter, TEST_CONVERTER_SECRET } from "./converter-process";
import { startFakeConverter } from "./fake-converter";
import { startPdfReader } from "./pdf-reader";
import { startWebhookReceiver } from "./webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    converterPort: number;
    fakeConverterPort: number; // test/fake-converter.ts: faults on demand
    webhookReceiverPort: number; // test/webhook-receiver.ts on 127.0.0.1
    pdfReaderPort: number; // test/pdf-reader.ts: pdfinfo and pdftotext for the Workers runtime
    fixtures: Record<string, string>; // name → base64: the Workers runtime has no file system
    cappedConverterPort: number; // a converter with a 450 MB memory cap per LibreOffice (convert.resource_limit)
    canary: { path: string; base64: string }; // a root-only file on the converters' host, for the attack tests
  }
}

const fixturesDir = fileURLToPath(new URL("./fixtures/", import.meta.url));

export default async function setup(project: TestProject) {
  // DOCCONV_TEST_CONVERTER_PORT: use a converter already running (npm run converter) instead of starting one.
  const external = Number(process.env.DOCCONV_TEST_CONVERTER_PORT) || 0;
  // (An external converter must require TEST_CONVERTER_SECRET, or none.)
  const [converter, capped] = await Promise.all([
    external
      ? { port: external, stop: async () => {} }
      : startConverter({ CONVERTER_INSTANCES: "2", CONVERTER_SECRET: TEST_CONVERTER_SECRET }),
    startConverter({
      CONVERTER_INSTANCES: "1",
      CONVERTER_MEMORY_LIMIT_MB: "450",
      CONVERTER_SECRET: TEST_CONVERTER_SECRET,
    }),
  ]);
  project.provide("converterPort", converter.port);
  project.provide("cappedConverterPort", capped.port);
  // A file only root may read, beside the converters' own directories: documents must not reach it.
  const canaryDir = mkdtempSync(join(tmpdir(), "docconv-api-canary-"));
  const canary = randomPng(16, 12);
  writeFileSync(join(canaryDir, "secret.png"), canary, { mode: 0o600 });
  project.provide("canary", { path: join(canaryDir, "secret.png"), base64: canary.toString("base64") });
  const fixtures: Record<string, string> = {};
  // Keyed by the path under test/fixtures/ ("formats/…" for the per-format fixtures in their sub-folder).
  for (const name of readdirSync(fixturesDir, { recursive: true, encoding: "utf8" })) {
    if (statSync(fixturesDir + name).isFile()) fixtures[name] = readFileSync(fixturesDir + name).toString("base64");
  }
  project.provide("fixtures", fixtures);
  const receiver = await startWebhookReceiver();
  project.provide("webhookReceiverPort", receiver.port);
  const fake = await startFakeConverter();
  project.provide("fakeConverterPort", fake.port);
  const pdfReader = await startPdfReader();
  project.provide("pdfReaderPort", pdfReader.port);
  return async () => {
    await pdfReader.stop();
    await fake.stop();
    await receiver.stop();
    await Promise.all([converter.stop(), capped.stop()]);
    rmSync(canaryDir, { recursive: true, force: true });
  };
}

/** A valid PNG of random pixels: LibreOffice would embed it byte for byte, and no other file has its bytes. */
function randomPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, tail]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.concat(
    Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), randomBytes(width * 3)])),
  );
  return Buffer.concat([
    Buffer.from("89504e470d0a1a0a", "hex"),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
