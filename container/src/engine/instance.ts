// One warm LibreOffice: a bridge.py process (own process group) that owns one soffice.bin, in a cell of its own
// (isolation.ts): a private directory with its copy of the user profile, its TMPDIR, and one job directory per
// conversion, into which the document is placed only once this instance has been assigned to it. Speaks
// line-delimited JSON; one request at a time. A watchdog caps memory and CPU time during a conversion.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, cp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Cell, Isolation } from "./isolation.ts";
import { removeFiles, sofficePipes } from "./leftovers.ts";
import { hostPidOf, killUid, sampleProcess } from "./resources.ts";

export const BRIDGE_SCRIPT = fileURLToPath(new URL("./bridge.py", import.meta.url));
/** Where the bridge script appears inside a bwrap sandbox. */
const SANDBOXED_BRIDGE = "/opt/docconv/bridge.py";

/** Caps on one instance; hitting one ends the conversion with EngineResourceLimit and replaces the instance. */
export interface InstanceLimits {
  /** soffice RSS, checked every WATCHDOG_MS during a conversion. */
  memoryBytes: number;
  /** soffice RLIMIT_AS. */
  addressSpaceBytes: number;
  /** CPU seconds soffice may spend on one conversion. */
  cpuSeconds: number;
  /** soffice RLIMIT_FSIZE, and the most the outputs of one conversion may hold together. */
  outputBytes: number;
}

export interface InstanceOptions {
  id: number;
  /** The instance's cell directory (profile, TMPDIR, warm-up and job files); created here, removed when it exits. */
  dir: string;
  profileTemplate: string;
  python: string;
  soffice: string;
  startTimeoutMs: number;
  warm: boolean;
  log: (level: "debug" | "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
  /** Default: none (the engine's own tests); the server passes what it probed. */
  isolation?: Isolation;
  /** The uid (and gid) the instance runs as when the isolation has the uid layer. */
  uid?: number;
  limits?: InstanceLimits;
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
  /** Refuse (too_many_pages) a document with more pages or slides than this, before exporting. */
  maxPages?: number;
  /** A picture opened in Draw: size its page to the picture before exporting. */
  picture?: boolean;
  /** SVG per page: the 1-based pages to write ("1-3,5", open ranges "4-"); all when absent. */
  pageRange?: string;
}

/** One conversion for an instance: the document and where its outputs go, in the server's own directories. */
export interface InstanceJob {
  /** The server's copy of the document; it stays where it is (a retry places it in another instance). */
  input: string;
  /** The document's file name inside the instance (LibreOffice prints it in headers and titles). */
  name: string;
  /** File name of the main output. */
  outputName: string;
  /** The server's directory that receives the outputs. */
  outDir: string;
  command: Omit<ConvertCommand, "op" | "input" | "output">;
}

export interface BridgeOutput {
  path: string;
  sheet?: number;
  name?: string;
}

export type BridgeReply =
  | { ok: true; ms: number; family: string; inputPages: number | null; outputs: BridgeOutput[] }
  | { ok: false; error: string; detail: string; fatal?: boolean; option?: string; [context: string]: unknown };

/** The instance died or broke its connection while working: the pool retries on the slot's replacement. */
export class EngineCrash extends Error {}
/** The instance did not answer in time and has been killed. */
export class EngineTimeout extends Error {}
/** The caller went away; the instance has been killed if it had the document (LibreOffice cannot be interrupted). */
export class EngineAborted extends Error {
  /** False when the caller was gone before LibreOffice had the document: the instance is untouched. */
  readonly killed: boolean;
  constructor(detail: string, killed: boolean) {
    super(detail);
    this.killed = killed;
  }
}
/** The conversion passed a cap (memory, CPU time, output size); the instance has been killed. */
export class EngineResourceLimit extends Error {
  readonly resource: "memory" | "cpu" | "output";
  constructor(resource: "memory" | "cpu" | "output", detail: string) {
    super(detail);
    this.resource = resource;
  }
}

const WATCHDOG_MS = 250;

/** A watchdog sample and when it was taken. */
export interface TimedSample {
  at: number;
  rssBytes: number;
  vmBytes: number;
}

/**
 * Whether soffice, dead at `diedAt`, died of its memory allowance: its size at the last sample, or projected to
 * the moment it died at the rate it grew between the last two samples, reached 80 % of the address-space limit
 * (an allocation RLIMIT_AS refuses aborts it) or 90 % of the RSS cap. The projection matters on a busy machine:
 * a document that grows hundreds of MiB a second outruns a watchdog whose ticks arrive late, and without it
 * that death read as a crash (retried once on a fresh instance) instead of the cap.
 */
export function diedOfMemory(
  samples: readonly TimedSample[],
  diedAt: number,
  limits: { addressSpaceBytes: number; memoryBytes: number },
): { rssBytes: number; vmBytes: number } | null {
  const last = samples.at(-1);
  if (!last) return null;
  const before = samples.at(-2);
  const project = (pick: (s: TimedSample) => number) => {
    if (!before || last.at <= before.at) return pick(last);
    const rate = Math.max(0, pick(last) - pick(before)) / (last.at - before.at);
    return pick(last) + rate * Math.max(0, diedAt - last.at);
  };
  const vmBytes = project((s) => s.vmBytes);
  const rssBytes = project((s) => s.rssBytes);
  return vmBytes >= 0.8 * limits.addressSpaceBytes || rssBytes >= 0.9 * limits.memoryBytes
    ? { rssBytes: last.rssBytes, vmBytes: last.vmBytes }
    : null;
}
const SIGXCPU = 24;
const SIGXFSZ = 25;
/** How long a bridge whose soffice died may take to report how it died and exit by itself. */
const DEATH_REPORT_MS = 1000;
const MiB = 1024 * 1024;

interface Pending {
  id: number;
  settle: (reply: BridgeReply) => void;
  fail: (error: Error) => void;
}

export class Instance {
  readonly id: number;
  readonly options: InstanceOptions;
  conversions = 0;
  /** soffice's pid on the host (also when it runs in a pid namespace). */
  sofficePid: number | undefined;
  /** Resolves once the bridge process has exited and the instance's files are gone. */
  readonly exited: Promise<void>;

  private readonly isolation: Isolation;
  private readonly cell: Cell;
  private child: ChildProcess | undefined;
  private alive = false;
  private nextId = 1;
  private jobs = 0;
  private pending: Pending | undefined;
  private stderrTail: string[] = [];
  /** LibreOffice's sockets in the host's /tmp (not with bwrap: its /tmp is private), which survive a kill. */
  private pipes: string[] = [];
  private exitListeners: ((reason: string) => void)[] = [];
  private markExited!: () => void;
  private exitReason = "";
  private killing = false;
  /** How soffice ended, as the bridge reported it: the signal that killed it, or the one its crash handler caught. */
  private sofficeSignal: number | undefined;
  /** The watchdog's last look at soffice during the current conversion. */
  /** The watchdog's last two samples of the conversion running now (for the death verdict). */
  private samples: TimedSample[] = [];
  /** When the watchdog first found soffice gone during this conversion (the bridge may report it later). */
  private sofficeGoneAt: number | undefined;

  constructor(options: InstanceOptions) {
    this.id = options.id;
    this.options = options;
    this.isolation = options.isolation ?? Isolation.none();
    this.cell = this.isolation.cell(options.dir, options.uid);
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /** The uid soffice runs as (undefined: the server's own). */
  get uid(): number | undefined {
    return this.cell.uid;
  }

  /** Called once when the instance dies for any reason (crash, kill, timeout). */
  onExit(listener: (reason: string) => void): void {
    this.exitListeners.push(listener);
  }

  /** Creates the cell, copies the profile, launches bridge + soffice, waits for the warm-up to finish. */
  async start(): Promise<void> {
    const { dir, profileTemplate, limits } = this.options;
    const cell = this.cell;
    // Leftovers of the slot's previous instance running as this uid (only possible without a pid namespace)
    // would see this cell: none may survive.
    if (cell.uid !== undefined && !this.isolation.namespaces) await killUid(cell.uid);
    await cell.create();
    const profile = join(dir, "profile");
    await cp(profileTemplate, profile, { recursive: true });
    await chmod(profile, 0o700);
    if (cell.uid !== undefined) await chownTree(profile, cell.uid);
    const tmp = await cell.privateDir("tmp");
    const warmDir = await cell.privateDir("warm");

    // Random: another uid that can see /tmp (uid layer without bwrap) cannot squat the name before soffice binds it.
    const pipe = `docconv_${process.pid}_${this.id}_${randomBytes(6).toString("hex")}`;
    if (!this.isolation.namespaces) this.pipes = sofficePipes(cell.inner(profile), pipe, cell.uid);
    const args = [
      this.isolation.namespaces ? SANDBOXED_BRIDGE : BRIDGE_SCRIPT,
      "--soffice",
      this.options.soffice,
      "--profile",
      cell.inner(profile),
      "--pipe",
      pipe,
      "--start-timeout",
      String(Math.ceil(this.options.startTimeoutMs / 1000)),
    ];
    if (this.options.warm) args.push("--warm-dir", cell.inner(warmDir));
    if (limits)
      args.push("--rlimit-as", String(limits.addressSpaceBytes), "--rlimit-fsize", String(limits.outputBytes));
    if (this.isolation.namespaces) args.push("--sandboxed");
    const env = {
      PATH: "/usr/bin:/bin",
      HOME: cell.inner(tmp), // the cell's root is the server's
      TMPDIR: cell.inner(tmp),
      TMP: cell.inner(tmp),
      TEMP: cell.inner(tmp),
      // UTF-8 file names (the document keeps the uploader's name) need a UTF-8 locale.
      LANG: /utf-?8/i.test(process.env.LANG ?? "") ? process.env.LANG! : "C.UTF-8",
      PYTHONUNBUFFERED: "1",
      PYTHONDONTWRITEBYTECODE: "1",
    };
    const readOnly: [string, string][] = [[BRIDGE_SCRIPT, SANDBOXED_BRIDGE]];
    for (const program of [this.options.python, this.options.soffice])
      if (!program.startsWith("/usr/")) readOnly.push([program, program]);
    const spec = this.isolation.command(cell, this.options.python, args, { env, readOnly });
    const child = spawn(spec.file, spec.args, {
      ...spec.options,
      // Own process group: one kill(-pid) takes bridge and soffice (or the whole bwrap sandbox) down together.
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
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
          const reported = typeof event.pid === "number" ? event.pid : undefined;
          // In bwrap's pid namespace the bridge sees soffice under another number than the host does.
          this.sofficePid =
            reported !== undefined && this.isolation.namespaces ? hostPidOf(reported, child.pid!) : reported;
          if (reported !== undefined && this.sofficePid === undefined) {
            reject(new Error(`instance ${this.id}: soffice (pid ${reported} in its sandbox) not found on the host`));
            this.kill("start failure");
            return;
          }
          this.options.log("debug", "instance ready", { instance: this.id, ...event, hostPid: this.sofficePid });
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
      if (message.event === "exit") {
        // LibreOffice's crash handler turns a fatal signal into an abort (-6): the caught one tells more.
        const caught = typeof message.signal === "number" ? message.signal : undefined;
        const code = typeof message.code === "number" ? message.code : undefined;
        this.sofficeSignal = caught ?? (code !== undefined && code < 0 ? -code : undefined);
        this.exitReason = `soffice exited with code ${String(message.code)}${caught ? ` after signal ${caught}` : ""}`;
      }
      this.onEvent(message);
      return;
    }
    if (this.pending && message.id === this.pending.id) this.pending.settle(message as unknown as BridgeReply);
  }

  /**
   * Runs one conversion: places the document in a fresh job directory of this instance, converts it, and moves
   * the outputs (plain files only) into `job.outDir`. The job directory is gone afterwards, whatever happened.
   */
  async convert(job: InstanceJob, timeoutMs: number, signal?: AbortSignal): Promise<BridgeReply> {
    const jobName = `job-${++this.jobs}-${randomBytes(4).toString("hex")}`;
    try {
      await this.cell.serverDir(jobName);
      const input = await this.cell.place(job.input, `${jobName}/${job.name}`);
      const outDir = await this.cell.privateDir(`${jobName}/out`);
      const command: ConvertCommand = {
        ...job.command,
        op: "convert",
        input: this.cell.inner(input),
        output: this.cell.inner(join(outDir, job.outputName)),
      };
      const reply = await this.request(command, timeoutMs, signal);
      if (!reply.ok) return reply;
      const claimed = await this.claimOutputs(outDir, job.outDir);
      const outputs = reply.outputs.map((output) => {
        const host = this.cell.outer(output.path);
        const name = host?.startsWith(`${outDir}/`) ? host.slice(outDir.length + 1) : undefined;
        if (!name || name.includes("/") || !claimed.has(name)) {
          this.kill("untrusted reply");
          throw new EngineCrash(`the bridge reported an output outside its job directory: ${output.path}`);
        }
        return { ...output, path: join(job.outDir, name) };
      });
      return { ...reply, outputs };
    } finally {
      await rm(join(this.options.dir, jobName), { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    }
  }

  /** Moves every plain file of the job's output directory to `dest`, within the output cap. */
  private async claimOutputs(outDir: string, dest: string): Promise<Set<string>> {
    const claimed = new Set<string>();
    let total = 0;
    for (const entry of await readdir(outDir, { withFileTypes: true })) {
      if (!entry.isFile()) continue; // symlinks, directories: nothing LibreOffice writes, nothing we read
      total += await this.cell.claim(join(outDir, entry.name), join(dest, entry.name));
      claimed.add(entry.name);
      const cap = this.options.limits?.outputBytes;
      if (cap !== undefined && total > cap) {
        this.kill("output cap");
        throw new EngineResourceLimit("output", `the conversion wrote more than ${Math.round(cap / MiB)} MiB`);
      }
    }
    return claimed;
  }

  /**
   * Sends one command and waits for its reply; kills the instance when `timeoutMs` or a cap passes first, or
   * when `signal` aborts (the client went away): the same kill as a timeout, so the slot is replaced at once.
   */
  request(command: ConvertCommand | { op: "ping" }, timeoutMs: number, signal?: AbortSignal): Promise<BridgeReply> {
    if (!this.alive || !this.child?.stdin) return Promise.reject(new EngineCrash(`instance ${this.id} is not running`));
    if (this.pending) return Promise.reject(new Error(`instance ${this.id} is already busy`));
    // Gone before LibreOffice had the document: nothing to kill.
    if (signal?.aborted)
      return Promise.reject(new EngineAborted("the client went away before the conversion began", false));
    const id = this.nextId++;
    const limits = this.options.limits;
    this.samples = [];
    this.sofficeGoneAt = undefined;
    const cpuAtStart = this.sofficePid ? sampleProcess(this.sofficePid).cpuSeconds : 0;
    return new Promise<BridgeReply>((resolve, reject) => {
      let dying: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        clearInterval(watchdog);
        clearTimeout(dying);
        signal?.removeEventListener("abort", onAbort);
        this.pending = undefined;
      };
      const fail = (reason: string, error: Error) => {
        finish();
        this.kill(reason);
        reject(error);
      };
      // soffice is gone: let the bridge report how it died (a file-size or CPU signal is the cap, not a crash)
      // and exit by itself; the exit handler rejects with the verdict. Kill what is left if it does not.
      const sofficeGone = () => {
        this.sofficeGoneAt ??= Date.now();
        if (dying) return;
        clearInterval(watchdog);
        dying = setTimeout(() => this.kill("soffice died during a conversion"), DEATH_REPORT_MS);
      };
      const timer = setTimeout(
        () => fail("conversion timeout", new EngineTimeout(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () =>
        fail("client went away", new EngineAborted("the client went away during the conversion", true));
      signal?.addEventListener("abort", onAbort, { once: true });
      // A bridge blocked in a UNO call can take seconds to notice that soffice died; we look ourselves, and
      // measure what the conversion costs while it runs.
      const watchdog = setInterval(() => {
        if (!this.sofficePid) return;
        const sample = sampleProcess(this.sofficePid);
        if (!sample.running) return sofficeGone();
        this.samples = [
          ...this.samples.slice(-1),
          { at: Date.now(), rssBytes: sample.rssBytes, vmBytes: sample.vmBytes },
        ];
        if (!limits) return;
        if (sample.rssBytes > limits.memoryBytes) {
          fail(
            "memory cap",
            new EngineResourceLimit(
              "memory",
              `LibreOffice used ${Math.round(sample.rssBytes / MiB)} MiB, more than the ${Math.round(limits.memoryBytes / MiB)} MiB cap`,
            ),
          );
        } else if (sample.cpuSeconds - cpuAtStart > limits.cpuSeconds) {
          fail(
            "CPU cap",
            new EngineResourceLimit("cpu", `the conversion used more than ${limits.cpuSeconds} s of CPU time`),
          );
        }
      }, WATCHDOG_MS);
      this.pending = {
        id,
        settle: (reply) => {
          // A failure reply written while soffice was dying (the bridge may not have noticed yet) is a crash,
          // not the document's error: wait for the exit's verdict.
          if (!reply.ok && (reply.fatal || !isRunning(this.sofficePid))) return sofficeGone();
          finish();
          resolve(reply);
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      this.child!.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  }

  /** Resident memory of soffice.bin in bytes, when it can be read. */
  rssBytes(): number | undefined {
    if (!this.sofficePid) return undefined;
    const sample = sampleProcess(this.sofficePid);
    return sample.running ? sample.rssBytes : undefined;
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

  /** Why soffice died during a conversion: a cap it hit (the kernel's signal, or memory near the limits), or a crash. */
  private deathVerdict(why: string): Error {
    const limits = this.options.limits;
    if (this.sofficeSignal === SIGXFSZ)
      return new EngineResourceLimit(
        "output",
        `LibreOffice tried to write a file larger than the ${Math.round((limits?.outputBytes ?? 0) / MiB)} MiB cap`,
      );
    if (this.sofficeSignal === SIGXCPU) return new EngineResourceLimit("cpu", "LibreOffice passed its CPU time limit");
    const last = limits ? diedOfMemory(this.samples, this.sofficeGoneAt ?? Date.now(), limits) : null;
    if (last) {
      // An allocation refused by RLIMIT_AS aborts soffice; its size says which limit it ran into.
      return new EngineResourceLimit(
        "memory",
        `LibreOffice ran out of its memory allowance (${Math.round(last.rssBytes / MiB)} MiB resident, ${Math.round(last.vmBytes / MiB)} MiB mapped at the last look) and died`,
      );
    }
    return new EngineCrash(`LibreOffice instance ${this.id} died (${why})`);
  }

  private async handleExit(reason: string): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    const why = this.exitReason || reason;
    const pending = this.pending;
    this.pending = undefined;
    pending?.fail(this.deathVerdict(why));
    // Anything left in the group (soffice, if the bridge died first) goes too.
    try {
      if (this.child?.pid) process.kill(-this.child.pid, "SIGKILL");
    } catch {}
    // Without a pid namespace, a process of the instance that left the group (setsid) would outlive the kill and
    // could race the removal below: every process of the uid goes first.
    if (this.cell.uid !== undefined && !this.isolation.namespaces) await killUid(this.cell.uid);
    for (const listener of this.exitListeners) listener(why);
    await removeFiles(this.pipes);
    await rm(this.options.dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    this.markExited();
  }
}

/** False once the process is gone or a zombie (killed but not yet reaped by the bridge). */
function isRunning(pid: number | undefined): boolean {
  if (!pid) return true;
  return sampleProcess(pid).running;
}

async function chownTree(path: string, uid: number): Promise<void> {
  await chown(path, uid, uid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, uid);
    else await chown(child, uid, uid);
  }
}
