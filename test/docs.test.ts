// /docs: the API reference page and its bundled Swagger UI assets, served by the Worker with no CDN.
// (test/e2e/docs.test.ts drives the page in headless Chromium against the local stack.)
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE } from "./harness";

const get = (path: string) => exports.default.fetch(new Request(`${BASE}${path}`, { redirect: "manual" }));

describe("GET /docs", () => {
  it("serves the page without a key, loading only same-origin scripts and styles", async () => {
    const res = await get("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await res.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual(["data:,", "/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/init.js"]);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
  });

  it("bundles Swagger UI's script and stylesheet into the Worker", async () => {
    const js = await get("/docs/swagger-ui-bundle.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const script = await js.text();
    expect(script.length).toBeGreaterThan(500_000);
    expect(script).toContain("SwaggerUIBundle");
    const css = await get("/docs/swagger-ui.css");
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(await css.text()).toContain(".swagger-ui");
  });

  it("points the UI at the OpenAPI document of this origin", async () => {
    const init = await (await get("/docs/init.js")).text();
    expect(init).toContain('url: "/v1/openapi.json"');
  });

  it("redirects /docs/ to /docs", async () => {
    const res = await get("/docs/");
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/docs");
  });
});
