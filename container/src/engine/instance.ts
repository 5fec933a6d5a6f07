// One warm LibreOffice: a bridge.py process (own process group) that owns one soffice.bin, a private copy of
// the user profile, and a private TMPDIR. Speaks line-delimited JSON; one request at a time.

import { spawn, type ChildProcess } from "node:child_process";
import { cp, mkdir, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { removeFiles, sofficePipes } from "./leftovers.ts";

export const BRIDGE_SCRIPT = fileURLToPath(new URL("./bridge.py", import.meta.url));

export interface InstanceOptions {
  id: number;
  /** Directory owned by this instance (profile, TMPDIR, warm-up files); removed when it exits. */
  dir: string;
  profileTemplate: string;
  python: string;
  soffice: string;
  startTimeoutMs: number;
  warm: boolean;
  log: (level: "debug" | "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
}

export interface ConvertCommand {
  op: "convert";
  input: string;
  output: string;
  family: string;
  filter: string;
  filterOptions?: string;
  filterData?: Record<string, string | number | boolean>;
  inputFilter?: string;
  inputFilterOptions?: string;
  /** 1-based index, name, "all", or 0 for the active sheet. */
  sheet?: number | string;
}

export interface BridgeOutput {
  path: string;
  sheet?: number;
  name?: string;
}

export type BridgeReply =
  | { ok: true; ms: number; family: string; inputPages: number | null; outputs: BridgeOutput[] }
  | { ok: false; error: string; detail: string; fatal?: boolean; option?: string };

/** The instance died or broke its connection while working: retryable elsewhere. */
export class EngineCrash extends Error {}
/** The instance did not answer in time and has been killed. */
export class EngineTimeout extends Error {}

let pipeCounter = 0;

export class Instance {
  readonly id: number;
  readonly options: InstanceOptions;
  conversions = 0;
  sofficePid: number | undefined;
  startMs: number | undefined;
  /** Resolves once the bridge process has exited and the instance's files are gone. */
  readonly exited: Promise<void>;

  private child: ChildProcess | undefined;
  private alive = false;
  private nextId = 1;
  private pending: { id: number; resolve: (r: BridgeReply) => void; reject: (e: Error) => void } | undefined;
  private stderrTail: string[] = [];
  /** LibreOffice's sockets in /tmp, which survive a kill. */
  private pipes: string[] = [];
  private exitListeners: ((reason: string) => void)[] = [];
  private markExited!: () => void;
  private exitReason = "";
  private killing = false;

  constructor(options: InstanceOptions) {
    this.id = options.id;
    this.options = options;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /** Called once when the instance dies for any reason (crash, kill, timeout). */
  onExit(listener: (reason: string) => void): void {
    this.exitListeners.push(listener);
  }

  /** Copies the profile, launches bridge + soffice, waits for the warm-up to finish. */
  async start(): Promise<void> {
    const { dir, profileTemplate } = this.options;
    const profile = join(dir, "profile");
    const tmp = join(dir, "tmp");
    const warmDir = join(dir, "warm");
    await mkdir(tmp, { recursive: true });
    await mkdir(warmDir, { recursive: true });
    await cp(profileTemplate, profile, { recursive: true });

    const pipe = `docconv_${process.pid}_${this.id}_${++pipeCounter}`;
    this.pipes = sofficePipes(profile, pipe);
    const args = [
      BRIDGE_SCRIPT,
      "--soffice", this.options.soffice,
      "--profile", profile,
      "--pipe", pipe,
      "--start-timeout", String(Math.ceil(this.options.startTimeoutMs / 1000)),
    ];
    if (this.options.warm) args.push("--warm-dir", warmDir);
    const child = spawn(this.options.python, args, {
      // Own process group: one kill(-pid) takes bridge and soffice down together.
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp, PYTHONUNBUFFERED: "1" },
    });
    this.child = child;
    this.alive = true;

    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`instance ${this.id} not ready after ${this.options.startTimeoutMs} ms`));
        this.kill("start timeout");
      }, this.options.startTimeoutMs + 5000);
      this.onEvent = (event) => {
        if (event.event === "ready") {
          clearTimeout(timer);
          this.sofficePid = typeof event.pid === "number" ? event.pid : undefined;
          this.startMs = typeof event.startMs === "number" ? event.startMs + Number(event.warmMs ?? 0) : undefined;
          this.options.log("debug", "instance ready", { instance: this.id, ...event });
          resolve();
        } else if (event.event === "failed") {
          clearTimeout(timer);
          reject(new Error(`instance ${this.id} failed to start: ${String(event.detail)}`));
        }
      };
      this.onExit((reason) => {
        clearTimeout(timer);
        reject(new Error(`instance ${this.id} exited during start-up (${reason}): ${this.stderrTail.join(" | ")}`));
      });
    });

    let buffered = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim()) this.onLine(line);
      }
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) {
        if (!line.trim()) continue;
        this.stderrTail.push(line.slice(0, 300));
        if (this.stderrTail.length > 8) this.stderrTail.shift();
        this.options.log("debug", "soffice", { instance: this.id, line: line.slice(0, 500) });
      }
    });
    child.stdin!.on("error", () => {}); // EPIPE after a crash is reported through "exit"
    child.on("exit", (code, signal) => void this.handleExit(`code ${code ?? "-"} signal ${signal ?? "-"}`));
    child.on("error", (error) => void this.handleExit(`spawn error: ${error.message}`));
    await ready;
  }

  private onEvent: (event: Record<string, unknown>) => void = () => {};

  private onLine(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.options.log("warn", "bridge wrote a non-JSON line", { instance: this.id, line: line.slice(0, 200) });
      return;
    }
    if (typeof message.event === "string") {
      if (message.event === "exit") this.exitReason = `soffice exited with code ${String(message.code)}`;
      this.onEvent(message);
      return;
    }
    const pending = this.pending;
    if (pending && message.id === pending.id) {
      this.pending = undefined;
      pending.resolve(message as unknown as BridgeReply);
    }
  }

  /** Sends one command and waits for its reply; kills the instance when `timeoutMs` passes first. */
  request(command: ConvertCommand | { op: "ping" }, timeoutMs: number): Promise<BridgeReply> {
    if (!this.alive || !this.child?.stdin) return Promise.reject(new EngineCrash(`instance ${this.id} is not running`));
    if (this.pending) return Promise.reject(new Error(`instance ${this.id} is already busy`));
    const id = this.nextId++;
    return new Promise<BridgeReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        clearInterval(watchdog);
        this.kill("conversion timeout");
        reject(new EngineTimeout(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      // A bridge blocked in a UNO call can take seconds to notice that soffice died; we look ourselves.
      const watchdog = setInterval(() => {
        if (!isRunning(this.sofficePid)) this.kill("soffice died during a conversion");
      }, 250);
      this.pending = {
        id,
        resolve: (reply) => {
          clearTimeout(timer);
          clearInterval(watchdog);
          // A failure reply written while soffice was dying (the bridge may not have noticed yet) is a crash,
          // not the document's error.
          if (!reply.ok && (reply.fatal || !isRunning(this.sofficePid))) {
            this.kill("soffice died during a conversion");
            reject(new EngineCrash(reply.detail));
          } else resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          clearInterval(watchdog);
          reject(error);
        },
      };
      this.child!.stdin!.write(JSON.stringify({ ...command, id }) + "\n");
    });
  }

  /** Resident memory of soffice.bin in bytes, when it can be read. */
  rssBytes(): number | undefined {
    if (!this.sofficePid) return undefined;
    try {
      const status = readFileSync(`/proc/${this.sofficePid}/status`, "utf8");
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Kills soffice first so the bridge can reap it (no zombies when Node is PID 1), then the whole group.
   * Idempotent; `exited` resolves once everything is gone.
   */
  kill(reason: string): void {
    if (this.killing || !this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.killing = true;
    if (!this.exitReason) this.exitReason = reason;
    const group = this.child.pid;
    const sofficeAlive = isRunning(this.sofficePid);
    if (this.sofficePid && sofficeAlive) {
      try {
        process.kill(this.sofficePid, "SIGKILL");
      } catch {}
    }
    const hardKill = setTimeout(
      () => {
        try {
          if (group) process.kill(-group, "SIGKILL");
        } catch {}
      },
      this.sofficePid && sofficeAlive ? 1000 : 0,
    );
    hardKill.unref();
    void this.exited.then(() => clearTimeout(hardKill));
  }

  /** Kills the instance and waits until its processes and files are gone. */
  async stop(reason: string): Promise<void> {
    this.kill(reason);
    await this.exited;
  }

  private async handleExit(reason: string): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    const why = this.exitReason || reason;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(new EngineCrash(`LibreOffice instance ${this.id} died (${why})`));
    // Anything left in the group (soffice, if the bridge died first) goes too.
    try {
      if (this.child?.pid) process.kill(-this.child.pid, "SIGKILL");
    } catch {}
    for (const listener of this.exitListeners) listener(why);
    await removeFiles(this.pipes);
    await rm(this.options.dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    this.markExited();
  }
}

/** False once the process is gone or a zombie (killed but not yet reaped by the bridge). */
function isRunning(pid: number | undefined): boolean {
  if (!pid) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
