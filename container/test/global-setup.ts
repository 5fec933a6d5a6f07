// One converter with two warm instances for all test files; teardown fails the run if it leaves anything.
import type { TestProject } from "vitest/node";
import { startTestServer } from "./server-process.ts";

declare module "vitest" {
  export interface ProvidedContext {
    converterUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startTestServer({ CONVERTER_INSTANCES: "2" });
  project.provide("converterUrl", server.url);
  return async () => {
    const left = await server.stop();
    if (left.processes.length || left.files.length || left.exitCode !== 0) {
      throw new Error(`converter did not shut down cleanly: ${JSON.stringify(left)}`);
    }
  };
}
