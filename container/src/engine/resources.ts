// What a process uses, read from /proc, and what the container may use (its cgroup's memory limit).

import { readdirSync, readFileSync } from "node:fs";
import { totalmem } from "node:os";

/**
 * The memory this container may use: the cgroup's limit (v2 `memory.max`, v1 `memory.limit_in_bytes`) when one
 * is set and below the machine's RAM, else the RAM.
 */
export function containerMemoryBytes(): number {
  const ram = totalmem();
  for (const file of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    try {
      const value = Number(readFileSync(file, "utf8").trim()); // "max" (no limit) is NaN
      if (Number.isFinite(value) && value > 0) return Math.min(value, ram);
    } catch {
      /* not this cgroup version */
    }
  }
  return ram;
}

export interface ProcessSample {
  /** False once the process is gone or a zombie (dead, not yet reaped). */
  running: boolean;
  rssBytes: number;
  vmBytes: number;
  /** User + system CPU time. */
  cpuSeconds: number;
}

const CLOCK_TICKS = 100; // USER_HZ: fixed at 100 on Linux for /proc/<pid>/stat

export function sampleProcess(pid: number): ProcessSample {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
    if (state === "Z" || state === "X") return { running: false, rssBytes: 0, vmBytes: 0, cpuSeconds };
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { running: true, rssBytes: kb("VmRSS"), vmBytes: kb("VmSize"), cpuSeconds };
  } catch {
    return { running: false, rssBytes: 0, vmBytes: 0, cpuSeconds: 0 };
  }
}

/**
 * The host pid of a process that a pid namespace below `ancestor` knows as `nsPid` (bwrap reports soffice's pid
 * as seen inside its sandbox). Matches /proc/<pid>/status NSpid's last entry and the parent chain.
 */
export function hostPidOf(nsPid: number, ancestor: number): number | undefined {
  const parents = new Map<number, number>();
  const candidates: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const pid = Number(entry);
      parents.set(pid, Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0));
      const nspids = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (nspids && nspids.length > 1 && Number(nspids.at(-1)) === nsPid) candidates.push(pid);
    } catch {
      /* exited meanwhile */
    }
  }
  return candidates.find((pid) => {
    for (let p = parents.get(pid), depth = 0; p && depth < 16; p = parents.get(p), depth++)
      if (p === ancestor) return true;
    return false;
  });
}

/** Processes whose real uid is `uid`. */
export function processesOf(uid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1]) === uid)
        found.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/**
 * SIGKILLs every process running as `uid` until none is left (a few rounds: one may fork while we look). Only for
 * a sandbox uid this server owns alone (the uid layer without bwrap's pid namespace).
 */
export async function killUid(uid: number): Promise<void> {
  if (uid === 0 || uid === process.getuid?.()) throw new Error(`refusing to kill every process of uid ${uid}`);
  for (let round = 0; round < 20; round++) {
    const pids = processesOf(uid);
    if (!pids.length) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
