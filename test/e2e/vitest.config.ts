// End-to-end tests in Node against the real local stack (converter + wrangler dev, started once by
// global-setup.ts): the typed client, the CLI, the OpenAPI document, and /docs in headless Chromium.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/e2e/global-setup.ts"],
    // One stack, two cores: files one after another keeps LibreOffice and Chromium from starving each other.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
