// /v1/openapi.json as served by the running stack, validated against the official OpenAPI 3.1 JSON Schema
// (ajv compiles schemas to code, which the Workers runtime forbids: this check runs here, in Node).
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { apiUrl } from "./harness";

describe("GET /v1/openapi.json on the local stack", () => {
  it("validates against the OpenAPI 3.1 schema, $refs resolved", async () => {
    const res = await fetch(`${apiUrl()}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const document = (await res.json()) as Record<string, unknown>;
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    const resolved = validator.resolveRefs() as { paths: Record<string, unknown> };
    expect(Object.keys(resolved.paths)).toContain("/v1/convert");
  });
});
