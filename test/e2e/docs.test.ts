// /docs in headless Chromium (Debian's chromium, driven by playwright-core; no browser download): the page
// loads from the Worker alone, lists the endpoints, and "try it" with a pasted key gets a 200 from the stack.
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKey, apiUrl } from "./harness";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let browser: Browser;
let page: Page;
const requests: string[] = [];
const consoleErrors: string[] = [];
// A directory to keep screenshots of the page in, for people reviewing a change.
const screenshots = process.env.DOCCONV_E2E_SCREENSHOTS;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  await page.goto(`${apiUrl()}/docs`);
  await page.locator(".opblock").first().waitFor({ timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
});

const operation = (method: string, path: string) =>
  page
    .locator(`.opblock-${method.toLowerCase()}`)
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });

describe("/docs in Chromium", () => {
  it("renders the API reference with every endpoint, loading nothing from another origin", async () => {
    await expect(page.title()).resolves.toBe("docconv API reference");
    await expect(page.locator(".info .title").innerText()).resolves.toContain("docconv API");
    for (const [method, path] of [
      ["POST", "/v1/convert"],
      ["GET", "/v1/convert/job/{id}"],
      ["GET", "/v1/convert/jobs"],
      ["POST", "/v1/files"],
      ["GET", "/v1/convert/conversions"],
    ] as const) {
      const block = operation(method, path);
      await expect(block.count(), `${method} ${path}`).resolves.toBe(1);
      await expect(block.locator(".opblock-summary-method").innerText()).resolves.toBe(method);
    }
    // Swagger UI draws a block for every operation, the documented webhook events included.
    const documented = await fetch(`${apiUrl()}/v1/openapi.json`).then(
      (r) => r.json() as Promise<{ paths: Record<string, object>; webhooks?: Record<string, object> }>,
    );
    const operations = [...Object.values(documented.paths), ...Object.values(documented.webhooks ?? {})].reduce(
      (n, item) => n + Object.keys(item).length,
      0,
    );
    await expect(page.locator(".opblock").count()).resolves.toBe(operations);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((url) => !url.startsWith(`${apiUrl()}/`) && !url.startsWith("data:"))).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it("tries GET /v1/convert/jobs with a pasted key and shows the 200 response", async () => {
    await page.locator("button.authorize").first().click();
    const scheme = page.locator(".auth-container").filter({ hasText: "ApiKeyHeader" });
    await scheme.locator("input").fill(apiKey());
    await scheme.locator("button.authorize").click();
    await scheme.locator("button", { hasText: "Logout" }).waitFor();
    await scheme.locator("button.btn-done").click();

    const list = operation("GET", "/v1/convert/jobs");
    await list.locator(".opblock-summary").click();
    await list.getByRole("button", { name: "Try it out" }).click();
    await list.getByRole("button", { name: "Execute" }).click();
    const status = list.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor({ timeout: 30_000 });
    await expect(status.innerText()).resolves.toBe("200");
    const body = await list.locator(".live-responses-table .response-col_description pre").first().innerText();
    expect(JSON.parse(body)).toMatchObject({ data: expect.any(Array), has_more: expect.any(Boolean) });
    // The request the page built: same origin, the key in X-API-Key.
    const curl = await list.locator(".curl-command").innerText();
    expect(curl).toContain(`${apiUrl()}/v1/convert/jobs`);
    expect(curl).toContain(`X-API-Key: ${apiKey()}`);
    if (screenshots) await list.screenshot({ path: join(screenshots, "docs-try-it.png") });
    expect(consoleErrors).toEqual([]);
  });

  it("shows the error envelope when the key is missing", async () => {
    const page2 = await browser.newPage();
    try {
      await page2.goto(`${apiUrl()}/docs#/Jobs`);
      const list = page2
        .locator(".opblock-get")
        .filter({ has: page2.locator('.opblock-summary-path[data-path="/v1/convert/jobs"]') });
      await list.locator(".opblock-summary").click();
      await list.getByRole("button", { name: "Try it out" }).click();
      await list.getByRole("button", { name: "Execute" }).click();
      const status = list.locator(".live-responses-table .response .response-col_status").first();
      await status.waitFor({ timeout: 30_000 });
      await expect(status.innerText()).resolves.toBe("401");
      const body = await list.locator(".live-responses-table .response-col_description pre").first().innerText();
      expect(JSON.parse(body)).toMatchObject({ error: "auth.missing_key", type: "unauthorized" });
    } finally {
      await page2.close();
    }
  });
});
