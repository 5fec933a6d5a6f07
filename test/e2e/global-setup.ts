// One real local stack for every e2e test file (test/local-stack.ts): the converter process and `wrangler dev`
// on free ports, with their own D1/R2/Queues state and variables in a temporary directory, and a key.
//
// DOCCONV_E2E_API_URL + DOCCONV_E2E_API_KEY: test a stack that is already running instead.
import type { TestProject } from "vitest/node";
import { startLocalStack } from "../local-stack";

declare module "vitest" {
  export interface ProvidedContext {
    apiUrl: string;
    apiKey: string;
  }
}

export default async function setup(project: TestProject) {
  if (process.env.DOCCONV_E2E_API_URL && process.env.DOCCONV_E2E_API_KEY) {
    project.provide("apiUrl", process.env.DOCCONV_E2E_API_URL.replace(/\/+$/, ""));
    project.provide("apiKey", process.env.DOCCONV_E2E_API_KEY);
    return;
  }
  const stack = await startLocalStack({
    name: "e2e",
    converterEnv: { CONVERTER_INSTANCES: "2" },
    vars: { ALLOW_LOOPBACK_WEBHOOKS: "true" },
    key: { user: "e2e", credits: 100_000, plan: "pro" },
    log: (message) => process.stderr.write(`[e2e] ${message}\n`),
  });
  project.provide("apiUrl", stack.apiUrl);
  project.provide("apiKey", stack.apiKey);
  return stack.stop;
}
