// The Hono app: middleware order, route mounting, the error envelope.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { requireApiKey } from "./auth/scope";
import { fieldsBodyLimit } from "./body-limits";
import { openServices } from "./domain/services";
import { notFound, onError, validationHook } from "./errors";
import { OPENAPI_PATH, openApiConfig, registerSecuritySchemes } from "./openapi";
import { catalogRoutes } from "./routes/catalog";
import { convertRoutes } from "./routes/convert";
import { converterRoutes } from "./routes/converter";
import { docsRoutes } from "./routes/docs";
import { downloadsRoutes } from "./routes/downloads";
import { entitlementsRoutes } from "./routes/entitlements";
import { filesRoutes } from "./routes/files";
import { healthRoutes } from "./routes/health";
import { jobsRoutes } from "./routes/jobs";
import { runsRoutes } from "./routes/runs";
import { webhooksRoutes } from "./routes/webhooks";

// Paths under /v1 that need no API key: the signature or nothing secret is the credential.
const PUBLIC_PREFIXES = ["/v1/downloads/", "/v1/openapi.json", "/v1/convert/conversions", "/v1/convert/estimate/"];

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", async (c, next) => {
    // The request's origin goes on the jobs it admits: their webhook events link downloads there.
    c.set("svc", openServices(c.env, { origin: new URL(c.req.url).origin }));
    await next();
  });
  app.use("/v1/*", async (c, next) => {
    if (PUBLIC_PREFIXES.some((p) => c.req.path.startsWith(p))) return next();
    return requireApiKey(c, next);
  });
  app.use("*", fieldsBodyLimit);
  // The upload endpoints (POST /v1/files, /v1/convert, /v1/convert/batch) enforce their body limits while they
  // stream the body (routes/upload-form.ts): Content-Length first, then every byte counted.

  app.route("/", healthRoutes);
  app.route("/", converterRoutes);
  app.route("/", filesRoutes);
  app.route("/", convertRoutes);
  app.route("/", jobsRoutes);
  app.route("/", runsRoutes);
  app.route("/", downloadsRoutes);
  app.route("/", catalogRoutes);
  app.route("/", entitlementsRoutes);
  app.route("/", webhooksRoutes);

  app.route("/", docsRoutes);
  registerSecuritySchemes(app);
  app.doc31(OPENAPI_PATH, openApiConfig);

  app.onError(onError);
  app.notFound(notFound);
  return app;
}
