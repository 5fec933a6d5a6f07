// Everything the operator can tune, from the environment, with defaults. Documented in container/README.md.

import { availableParallelism, tmpdir } from "node:os";
import { containerMemoryBytes } from "./engine/resources.ts";

export const ISOLATION_LEVELS = ["auto", "bwrap+uid", "uid", "bwrap", "none"] as const;
export type IsolationSetting = (typeof ISOLATION_LEVELS)[number];

export interface Config {
  port: number;
  host: string;
  /** Shared secret every request but GET /health must carry in X-Converter-Secret; undefined: none required. */
  secret: string | undefined;
  instances: number;
  maxQueue: number;
  queueTimeoutMs: number;
  timeoutMs: number;
  maxTimeoutMs: number;
  maxConversions: number;
  /** Recycle an instance whose soffice passes this RSS after a conversion. */
  maxRssBytes: number;
  /** Kill a conversion whose soffice passes this RSS (convert.resource_limit). */
  memoryLimitBytes: number;
  /** Address-space limit (RLIMIT_AS) of soffice: the backstop for allocations faster than the RSS watchdog. */
  addressSpaceBytes: number;
  /** Address-space limit of pdfinfo/pdftoppm. */
  toolMemoryBytes: number;
  /** CPU seconds one conversion may use (soffice: watchdog; poppler: RLIMIT_CPU). */
  cpuLimitSeconds: number;
  /** Largest file a conversion may write (RLIMIT_FSIZE) and largest total of its outputs. */
  maxOutputBytes: number;
  maxBytes: number;
  startTimeoutMs: number;
  shutdownGraceMs: number;
  tempDir: string;
  profileTemplate: string | undefined;
  soffice: string;
  python: string;
  warm: boolean;
  isolation: IsolationSetting;
  /** First uid (and gid) of the sandboxed processes: instance i runs as base + i, render slot j as base + instances + j. */
  sandboxUidBase: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

const MiB = 1024 * 1024;
/** Memory kept for the server itself (Node, buffers) when sizing the per-instance caps. */
const SERVER_RESERVE_BYTES = 512 * MiB;

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const instances = int(env, "CONVERTER_INSTANCES", availableParallelism(), 1);
  const timeoutMs = int(env, "CONVERTER_TIMEOUT_MS", 120_000, 1);
  const logLevel = (env.CONVERTER_LOG_LEVEL ?? "info") as Config["logLevel"];
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) {
    throw new Error(`CONVERTER_LOG_LEVEL must be debug, info, warn, error or silent`);
  }
  const isolation = (env.CONVERTER_ISOLATION || "auto") as IsolationSetting;
  if (!ISOLATION_LEVELS.includes(isolation))
    throw new Error(`CONVERTER_ISOLATION must be one of ${ISOLATION_LEVELS.join(", ")}`);

  // Each instance slot gets an equal share of what the container has (cgroup limit, else RAM): three quarters
  // for its LibreOffice, a quarter for the page rendering that runs beside it.
  const share = Math.max(256 * MiB, Math.floor((containerMemoryBytes() - SERVER_RESERVE_BYTES) / instances));
  const memoryLimitBytes = int(env, "CONVERTER_MEMORY_LIMIT_MB", Math.floor((share * 0.75) / MiB), 64) * MiB;
  const toolMemoryBytes =
    int(env, "CONVERTER_TOOL_MEMORY_LIMIT_MB", Math.max(512, Math.floor((share * 0.25) / MiB)), 64) * MiB;
  return {
    port: int(env, "CONVERTER_PORT", 8080),
    host: env.CONVERTER_HOST || "127.0.0.1",
    secret: env.CONVERTER_SECRET || undefined,
    instances,
    maxQueue: int(env, "CONVERTER_MAX_QUEUE", 10 * instances),
    // Well under the Worker's CONVERTER_REQUEST_TIMEOUT_SECONDS (180): queue wait + conversion timeout = 135 s.
    queueTimeoutMs: int(env, "CONVERTER_QUEUE_TIMEOUT_MS", 15_000, 1),
    timeoutMs,
    maxTimeoutMs: Math.max(timeoutMs, int(env, "CONVERTER_MAX_TIMEOUT_MS", 600_000, 1)),
    maxConversions: int(env, "CONVERTER_MAX_CONVERSIONS", 200, 1),
    // Recycling happens well before the hard cap would kill a conversion.
    maxRssBytes: Math.min(int(env, "CONVERTER_MAX_RSS_MB", 1536, 1) * MiB, Math.floor(memoryLimitBytes * 0.75)),
    memoryLimitBytes,
    // Virtual size runs ahead of RSS (reserved arenas, thread stacks): twice the cap plus 1 GiB.
    addressSpaceBytes:
      int(env, "CONVERTER_ADDRESS_SPACE_MB", Math.floor((2 * memoryLimitBytes) / MiB) + 1024, 256) * MiB,
    toolMemoryBytes,
    cpuLimitSeconds: int(env, "CONVERTER_CPU_LIMIT_SECONDS", Math.ceil(timeoutMs / 1000), 1),
    maxOutputBytes: int(env, "CONVERTER_MAX_OUTPUT_MB", 2048, 1) * MiB,
    maxBytes: int(env, "CONVERTER_MAX_BYTES", 200 * 1024 * 1024, 1),
    startTimeoutMs: int(env, "CONVERTER_START_TIMEOUT_MS", 60_000, 1000),
    // At least the longest request (queue wait + conversion), so a rollout's SIGTERM never cuts one short.
    shutdownGraceMs: int(env, "CONVERTER_SHUTDOWN_GRACE_MS", 150_000),
    tempDir: env.CONVERTER_TEMP_DIR || tmpdir(),
    profileTemplate: env.CONVERTER_PROFILE_TEMPLATE || undefined,
    soffice: env.CONVERTER_SOFFICE || "/usr/lib/libreoffice/program/soffice.bin",
    python: env.CONVERTER_PYTHON || "/usr/bin/python3",
    warm: env.CONVERTER_WARM !== "0",
    isolation,
    sandboxUidBase: int(env, "CONVERTER_SANDBOX_UID_BASE", 10_000, 1000),
    logLevel,
  };
}
