// /docs: the API reference (Swagger UI) served by the Worker itself. The UI's JS and CSS are bundled from
// swagger-ui-dist as text modules (wrangler.toml [[rules]]), so the page needs no CDN, and "try it" calls
// this same origin with the key the reader pastes under Authorize.
import { Hono } from "hono";
import swaggerUiCss from "swagger-ui-dist/swagger-ui.css";
import swaggerUiBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import type { AppEnv } from "../app-env";
import { OPENAPI_PATH } from "../openapi";

const ASSET_CACHE_CONTROL = "public, max-age=86400";

// Nothing but this origin: scripts, styles, fonts and "try it" requests. Swagger UI sets inline styles.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>docconv API reference</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// A file, not an inline script, so the CSP can forbid inline scripts.
const INIT = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  displayRequestDuration: true,
  filter: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`;

function asset(body: string, contentType: string): Response {
  return new Response(body, {
    headers: { "Content-Type": contentType, "Cache-Control": ASSET_CACHE_CONTROL, "X-Content-Type-Options": "nosniff" },
  });
}

export const docsRoutes = new Hono<AppEnv>()
  .get(
    "/docs",
    () =>
      new Response(PAGE, {
        headers: {
          "Content-Type": "text/html; charset=utf-8",
          "Content-Security-Policy": CONTENT_SECURITY_POLICY,
          "X-Content-Type-Options": "nosniff",
        },
      }),
  )
  .get("/docs/", (c) => c.redirect("/docs", 301))
  .get("/docs/swagger-ui-bundle.js", () => asset(swaggerUiBundle, "text/javascript; charset=utf-8"))
  .get("/docs/swagger-ui.css", () => asset(swaggerUiCss, "text/css; charset=utf-8"))
  .get("/docs/init.js", () => asset(INIT, "text/javascript; charset=utf-8"));
