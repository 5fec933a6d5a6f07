// The shared secret: every route but GET /health wants X-Converter-Secret (compared in constant time); without
// it, or with a wrong one, 401 convert.unauthorized. And no listening beyond loopback without a secret.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, test } from "vitest";
import { fixture } from "./helpers.ts";
import { TEST_SECRET } from "./server-process.ts";

const url = () => inject("converterUrl");

describe("X-Converter-Secret", () => {
  const routes: [string, string][] = [
    ["POST", "/convert?to=pdf"],
    ["GET", "/formats"],
    ["GET", "/nope"],
  ];
  const wrong: Record<string, Record<string, string>> = {
    "no header": {},
    "a wrong secret of the same length": {
      "X-Converter-Secret": TEST_SECRET.replace(/.$/, (c) => (c === "x" ? "y" : "x")),
    },
    "the secret's prefix": { "X-Converter-Secret": TEST_SECRET.slice(0, -1) },
    "the secret plus more": { "X-Converter-Secret": `${TEST_SECRET}x` },
    "an empty header": { "X-Converter-Secret": "" },
  };
  for (const [method, path] of routes) {
    for (const [what, headers] of Object.entries(wrong)) {
      test(`${method} ${path} with ${what}: 401 convert.unauthorized, nothing converted`, async () => {
        const res = await fetch(`${url()}${path}`, {
          method,
          headers,
          body: method === "POST" ? new Uint8Array(fixture("docx-header-footer.docx")) : undefined,
        });
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: "convert.unauthorized" });
      });
    }
  }

  test("GET /health needs no secret (the platform's ping, npm run dev); the right secret opens the rest", async () => {
    expect((await fetch(`${url()}/health`)).status).toBe(200);
    expect((await fetch(`${url()}/formats`, { headers: { "X-Converter-Secret": TEST_SECRET } })).status).toBe(200);
  });

  test("without CONVERTER_SECRET the converter refuses to listen on anything but loopback", () => {
    const run = spawnSync(process.execPath, [fileURLToPath(new URL("../src/server.ts", import.meta.url))], {
      env: {
        ...process.env,
        CONVERTER_SECRET: "",
        CONVERTER_HOST: "0.0.0.0",
        CONVERTER_PORT: "0",
        CONVERTER_INSTANCES: "1",
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("CONVERTER_SECRET is not set");
  });
});
