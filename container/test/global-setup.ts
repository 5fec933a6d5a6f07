// One converter with two warm instances for all test files; teardown fails the run if it leaves anything.
import type { TestProject } from "vitest/node";
import { startTestServer } from "./server-process.ts";

declare module "vitest" {
  export interface ProvidedContext {
    converterUrl: string;
    /** The shared server's pid (its LibreOffice processes carry docconv_<pid>_ in their command lines). */
    converterPid: number;
  }
}

export default async function setup(project: TestProject) {
  const server = await startTestServer({ CONVERTER_INSTANCES: "2" });
  project.provide("converterUrl", server.url);
  project.provide("converterPid", server.pid);
  return async () => {
    const left = await server.stop();
    if (left.processes.length || left.files.length || left.exitCode !== 0) {
      throw new Error(`converter did not shut down cleanly: ${JSON.stringify(left)}`);
    }
  };
}
