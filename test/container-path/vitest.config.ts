// The container path as production runs it: no CONVERTER_URL, so the consumer reaches the converter through
// src/converter/container-transport.ts and @cloudflare/containers; the CONVERTER binding points at
// ConverterStandIn (stand-in.ts), the real Container class whose platform container is the real converter
// process that test/global-setup.ts starts. Queues, D1 and R2 are the test plugin's simulations.
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_CONVERTER_SECRET } from "../converter-process";

const root = fileURLToPath(new URL("../..", import.meta.url));

export default defineConfig(async () => {
  const migrations = await readD1Migrations(`${root}/migrations`);
  return {
    root,
    plugins: [
      cloudflareTest(({ inject }) => ({
        main: `${root}/test/container-path/worker.ts`,
        wrangler: { configPath: `${root}/wrangler.toml` },
        miniflare: {
          bindings: {
            STAND_IN_CONVERTER_URL: `http://127.0.0.1:${inject<number>("converterPort")}`,
            // The plugin also reads .dev.vars, where `npm run dev` writes CONVERTER_URL: empty, it selects the
            // Container binding as production does (README's "npm run dev", then "npm test").
            CONVERTER_URL: "",
            // The converter test/global-setup.ts starts requires it (X-Converter-Secret).
            CONVERTER_SECRET: TEST_CONVERTER_SECRET,
            DOWNLOAD_SIGNING_KEY: "test-signing-key",
            ALLOW_LOOPBACK_WEBHOOKS: "true",
            WEBHOOK_RETRY_DELAYS_SECONDS: "0,1,1",
            WEBHOOK_TIMEOUT_SECONDS: "1",
            // One named container, so a test's script meets every request of its job.
            CONVERTER_CONTAINERS: "1",
            CONVERSION_TIMEOUT_SECONDS: "15",
            CONVERTER_REQUEST_TIMEOUT_SECONDS: "40",
            // Back-pressure retries every second (unless the converter says otherwise) within a 30 s budget.
            CONVERTER_BACKPRESSURE_DELAY_SECONDS: "1",
            CONVERTER_WAIT_BUDGET_SECONDS: "30",
            TEST_MIGRATIONS: migrations,
          },
          durableObjects: { CONVERTER: { className: "ConverterStandIn", useSQLite: true } },
          queueConsumers: {
            "docconv-jobs": { maxBatchTimeout: 0.05, maxRetries: 3, deadLetterQueue: "docconv-jobs-dlq" },
            "docconv-jobs-dlq": { maxBatchTimeout: 0.05 },
            "docconv-webhooks": { maxBatchTimeout: 0.05, maxRetries: 10 },
          },
        },
      })),
    ],
    test: {
      include: ["test/container-path/**/*.test.ts"],
      globalSetup: ["test/global-setup.ts"],
      setupFiles: ["test/apply-migrations.ts"],
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  };
});
