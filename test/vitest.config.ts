// The API's tests: inside the Workers runtime (D1, R2, Queues simulated by the test plugin), talking to the
// real converter process that global-setup.ts starts.
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_CONVERTER_SECRET } from "./converter-process";

const root = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig(async () => {
  const migrations = await readD1Migrations(`${root}/migrations`);
  return {
    root,
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: `${root}/wrangler.toml` },
        miniflare: {
          bindings: {
            CONVERTER_URL: `http://127.0.0.1:${inject<number>("converterPort")}`,
            CONVERTER_SECRET: TEST_CONVERTER_SECRET,
            DOWNLOAD_SIGNING_KEY: "test-signing-key",
            ALLOW_LOOPBACK_WEBHOOKS: "true",
            // Webhooks: a short retry schedule and timeout, and download links on the tests' own origin.
            WEBHOOK_RETRY_DELAYS_SECONDS: "0,1,1",
            WEBHOOK_TIMEOUT_SECONDS: "1",
            PUBLIC_BASE_URL: "http://docconv.test",
            // Documents that hang LibreOffice fail in seconds, not minutes.
            CONVERSION_TIMEOUT_SECONDS: "15",
            CONVERTER_REQUEST_TIMEOUT_SECONDS: "40",
            // A job under back-pressure (or revived from the dead-letter queue) is tried again after 1 s.
            CONVERTER_BACKPRESSURE_DELAY_SECONDS: "1",
            // Above the 60 MB of the large-upload test, low enough that crossing it stays cheap.
            MAX_FILE_SIZE_BYTES: String(64 * 1024 * 1024),
            TEST_MIGRATIONS: migrations,
          },
          // Deliver queued messages at once instead of holding batches for max_batch_timeout. These replace
          // wrangler.toml's consumer settings whole: max_retries and the dead-letter queue are restated.
          queueConsumers: {
            "docconv-jobs": { maxBatchTimeout: 0.05, maxRetries: 3, deadLetterQueue: "docconv-jobs-dlq" },
            "docconv-jobs-dlq": { maxBatchTimeout: 0.05 },
            "docconv-webhooks": { maxBatchTimeout: 0.05, maxRetries: 10 },
          },
        },
      })),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      // test/e2e runs in Node against the real local stack, test/container-path with the Container binding:
      // their own configs (npm run test:e2e, npm run test:container-path).
      exclude: ["test/e2e/**", "test/container-path/**"],
      globalSetup: ["test/global-setup.ts"],
      setupFiles: ["test/apply-migrations.ts"],
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  };
});
