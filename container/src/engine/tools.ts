// Runs poppler's command-line tools on documents: in a render slot's cell (isolation.ts) — its own uid, its own
// directory, bwrap when available — under setrlimit caps (address space, CPU time, file size), with a deadline
// and a cap on concurrent runs.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { ConvertError } from "../errors.ts";
import { type Cell, Isolation, type ToolLimits } from "./isolation.ts";
import { killUid } from "./resources.ts";

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A render slot for one conversion: the cell its tools may write and the caps they run under. */
export interface ToolSandbox {
  isolation: Isolation;
  /** Documents are placed in the cell (the server's directory); the tools write into `out` (theirs). */
  cell: Cell;
  out: string;
  limits: ToolLimits | undefined;
  /** Most the rendered files of one conversion may hold together. */
  maxOutputBytes: number | undefined;
}

const TOOL_ENV = { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" };
const SIGNALS = { SIGKILL: 9, SIGXCPU: 24, SIGXFSZ: 25 } as const;

export function runTool(command: string, args: string[], deadline: number, sandbox: ToolSandbox): Promise<ToolResult> {
  const budget = deadline - Date.now();
  if (budget <= 0) return Promise.reject(timeoutError());
  const spec = sandbox.isolation.command(sandbox.cell, `/usr/bin/${command}`, args, {
    env: TOOL_ENV,
    limits: sandbox.limits,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(spec.file, spec.args, { ...spec.options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout = (stdout + chunk).slice(-65536)));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, budget);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new ConvertError("convert.engine_failure", `${command} could not run: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(timeoutError());
      const cap = capHit(code, signal, stderr, sandbox);
      if (cap)
        return reject(new ConvertError("convert.resource_limit", `${command} ${cap}`, { resource: cap.split(" ")[0] }));
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether the tool hit a cap: the kernel's signal for it, or an allocation refused under RLIMIT_AS. */
function capHit(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
  sandbox: ToolSandbox,
): string | undefined {
  if (!sandbox.limits) return undefined;
  // bwrap reports a command killed by signal N as exit code 128 + N.
  const number = signal
    ? (SIGNALS as Record<string, number>)[signal]
    : sandbox.isolation.namespaces && code !== null && code > 128
      ? code - 128
      : undefined;
  if (number === SIGNALS.SIGXFSZ)
    return `output passed the ${Math.round(sandbox.limits.fileSizeBytes / 1048576)} MiB file size cap`;
  if (number === SIGNALS.SIGXCPU || number === SIGNALS.SIGKILL)
    return `cpu time or memory cap reached (killed by signal ${number})`;
  // poppler reports a refused allocation as "Out of memory" and may still exit 0 with an empty page.
  if (/out of memory|bad_alloc|cannot allocate/i.test(stderr)) {
    return `memory cap reached (${Math.round(sandbox.limits.addressSpaceBytes / 1048576)} MiB of address space)`;
  }
  return undefined;
}

function timeoutError(): ConvertError {
  return new ConvertError("convert.timeout", "the conversion ran out of time while rendering pages");
}

/** Render slots: at most `slots` conversions render at once, each in a fresh cell of its slot's uid. */
export class ToolBox {
  private readonly isolation: Isolation;
  private readonly root: string;
  private readonly uidBase: number | undefined;
  private readonly limits: ToolLimits | undefined;
  private readonly maxOutputBytes: number | undefined;
  private readonly free: number[];
  private readonly queue: ((slot: number) => void)[] = [];

  constructor(options: {
    isolation?: Isolation;
    /** Directory the cells are made in (traversable by the slots' uids). */
    root: string;
    slots: number;
    uidBase?: number;
    limits?: ToolLimits;
    maxOutputBytes?: number;
  }) {
    this.isolation = options.isolation ?? Isolation.none();
    this.root = options.root;
    this.uidBase = options.uidBase;
    this.limits = options.limits;
    this.maxOutputBytes = options.maxOutputBytes;
    this.free = Array.from({ length: options.slots }, (_, i) => i);
  }

  async use<T>(work: (sandbox: ToolSandbox) => Promise<T>): Promise<T> {
    const slot = this.free.pop() ?? (await new Promise<number>((resolve) => this.queue.push(resolve)));
    const cell = this.isolation.cell(
      join(this.root, `render-${slot}-${randomBytes(4).toString("hex")}`),
      this.uidBase === undefined ? undefined : this.uidBase + slot,
    );
    // Without bwrap's pid namespace, a tool that forked away from us would keep the slot's uid: none survives a use.
    const sweep = async () => {
      if (cell.uid !== undefined && !this.isolation.namespaces) await killUid(cell.uid);
    };
    try {
      await sweep();
      await cell.create();
      const out = await cell.privateDir("out");
      return await work({
        isolation: this.isolation,
        cell,
        out,
        limits: this.limits,
        maxOutputBytes: this.maxOutputBytes,
      });
    } finally {
      await sweep();
      await rm(cell.dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
      const next = this.queue.shift();
      if (next) next(slot);
      else this.free.push(slot);
    }
  }
}
