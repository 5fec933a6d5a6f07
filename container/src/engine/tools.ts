// Runs poppler's command-line tools with a deadline and a cap on concurrent runs.

import { spawn } from "node:child_process";
import { ConvertError } from "../errors.ts";

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(command: string, args: string[], deadline: number): Promise<ToolResult> {
  const budget = deadline - Date.now();
  if (budget <= 0) return Promise.reject(timeoutError());
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout = (stdout + chunk).slice(-65536)));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, budget);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new ConvertError("convert.engine_failure", `${command} could not run: ${error.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) reject(timeoutError());
      else resolve({ code, stdout, stderr });
    });
  });
}

function timeoutError(): ConvertError {
  return new ConvertError("convert.timeout", "the conversion ran out of time while rendering pages");
}

/** A counting semaphore: rendering runs outside the LibreOffice pool and must not swamp the CPUs. */
export class Semaphore {
  private available: number;
  private readonly queue: (() => void)[] = [];

  constructor(size: number) {
    this.available = size;
  }

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.available++;
    }
  }
}
