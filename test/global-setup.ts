import { readdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startConverter, TEST_CONVERTER_SECRET } from "./converter-process";
import { startFakeConverter } from "./fake-converter";
import { startWebhookReceiver } from "./webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    converterPort: number;
    fakeConverterPort: number; // test/fake-converter.ts: faults on demand
    webhookReceiverPort: number; // test/webhook-receiver.ts on 127.0.0.1
    fixtures: Record<string, string>; // name → base64: the Workers runtime has no file system
  }
}

const fixturesDir = fileURLToPath(new URL("./fixtures/", import.meta.url));

export default async function setup(project: TestProject) {
  // DOCCONV_TEST_CONVERTER_PORT: use a converter already running (npm run converter) instead of starting one.
  const external = Number(process.env.DOCCONV_TEST_CONVERTER_PORT) || 0;
  // (An external converter must require TEST_CONVERTER_SECRET, or none.)
  const converter = external ? { port: external, stop: async () => {} } : await startConverter({ CONVERTER_INSTANCES: "2", CONVERTER_SECRET: TEST_CONVERTER_SECRET });
  project.provide("converterPort", converter.port);
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
  return async () => {
    await fake.stop();
    await receiver.stop();
    await converter.stop();
  };
}
