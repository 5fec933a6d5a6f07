// The OpenAPI 3.1 document served at /v1/openapi.json. Paths and schemas come from the routes' own
// zod definitions (createRoute); this file adds what no route owns: info, servers, security schemes, tags.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";

export const OPENAPI_PATH = "/v1/openapi.json";

const DESCRIPTION = `
Convert office documents (docx, xlsx, pptx, odt, rtf, csv, …) to PDF, images, HTML and other formats with
LibreOffice, behind an asynchronous job API.

## Authentication
Every \`/v1\` endpoint except the catalog, estimates, signed downloads and this document needs an API key,
sent as \`X-API-Key: sk_live_…\` or \`Authorization: Bearer sk_live_…\` (\`sk_test_…\` for local keys; create
one with \`npm run key\`). \`Authorization\` must be exactly \`Bearer <key>\` (the scheme in any case): a bare key
or another scheme is 401 \`auth.invalid_authorization\`. Both headers may carry the same key; two different
keys in one request are 400 \`auth.conflicting_keys\`. A personal key sees its user's files and jobs, a
workspace key its workspace's; anything else answers 404, never 403.

## The job flow
1. \`POST /v1/convert\` with the document (\`file\`) or an uploaded file's id (\`fileId\`) and \`targetFormat\`
   → **202** \`{id, status: "Queued", creditCost}\`. Credits are debited now and refunded if the job fails
   or is canceled.
2. \`GET /v1/convert/job/{id}\` until \`status\` is \`Succeeded\`, \`Failed\` or \`Canceled\`;
   \`progress.phase\` names the current phase.
3. \`GET /v1/convert/job/{id}/download\`, or the signed \`download_url\` (no key needed, valid for an hour).

## Errors
One envelope, in the vocabulary of the document each endpoint family implements; the HTTP status and the
class follow from the code (one table, listed in the \`Error\` schema):
- \`/v1/convert*\` and every other endpoint (the \`Error\` schema): \`{"error": "<area>.<code>", "type": "<class>", "detail": "…", …context}\`.
- \`/v1/files*\` and \`/v1/runs*\` (the \`FilesError\` schema): \`{"error": "<class>", "code": "<area>.<code>", "detail": "…", "message": "…", …context}\`,
  where the class is \`invalid_request\` (400), \`not_found\` (404), \`conflict\` (409), \`upstream_error\` (502), or for other
  statuses the same style (\`unauthorized\`, \`payment_required\`, \`unprocessable\`, …: the \`Error\` schema's table has each code's).
Failures before the route (a missing key, a body over the limit) answer in the family of the path.

## Prices
A price is decided at submission from what the server measures exactly: \`PerPage\` where the source's page or slide
count is read from its structure (pdf pages; pptx and odp slides), \`PerMegabyte\` for everything else. The catalog
lists each conversion's \`costing\`; \`GET /v1/convert/estimate/{from}/{to}\` runs the calculation.

## Try it
On \`/docs\`, press **Authorize**, paste your key under \`ApiKeyHeader\`, then **Try it out** on any endpoint.
`.trim();

// Tags in the order the docs page shows them; routes may use others, which are listed after these.
const TAGS = [
  { name: "Jobs", description: "Submit conversions, follow them, download, cancel and list them." },
  { name: "Files", description: "Upload a document once, convert it many times." },
  { name: "Catalog", description: "What converts to what, at what price and within which limits. Public." },
  { name: "Account", description: "Plan, credits and daily limits of the key's account." },
  { name: "Runs", description: "Conversions of uploaded files with cached renditions." },
  { name: "Webhooks", description: "Endpoints called when jobs end, signed with the endpoint's secret." },
  { name: "Downloads", description: "Signed, expiring links: the signature is the credential." },
  { name: "Health", description: "Liveness of the API and the converter." },
];

export const openApiConfig = {
  openapi: "3.1.0",
  info: {
    title: "docconv API",
    version: "1.0.0",
    description: DESCRIPTION,
  },
  // Relative: the document, /docs and "try it" work on whatever origin serves them (local or deployed).
  servers: [{ url: "/", description: "this server" }],
  tags: TAGS,
};

/** The two ways to send a key; routes refer to them by name through `apiKeySecurity` (src/schemas.ts). */
export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKeyHeader", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "`sk_live_…` (production) or `sk_test_…` (local)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "BearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "sk_live_… / sk_test_…",
    description:
      "the same key as `Authorization: Bearer <key>`: exactly that, a bare key is refused (401 `auth.invalid_authorization`)",
  });
}
