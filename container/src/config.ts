// Everything the operator can tune, from the environment, with defaults. Documented in container/README.md.

import { availableParallelism, tmpdir } from "node:os";

export interface Config {
  port: number;
  host: string;
  instances: number;
  maxQueue: number;
  queueTimeoutMs: number;
  timeoutMs: number;
  maxTimeoutMs: number;
  maxConversions: number;
  maxRssBytes: number;
  maxBytes: number;
  startTimeoutMs: number;
  shutdownGraceMs: number;
  tempDir: string;
  profileTemplate: string | undefined;
  soffice: string;
  python: string;
  warm: boolean;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

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
  return {
    port: int(env, "CONVERTER_PORT", 8080),
    host: env.CONVERTER_HOST || "0.0.0.0",
    instances,
    maxQueue: int(env, "CONVERTER_MAX_QUEUE", 10 * instances),
    queueTimeoutMs: int(env, "CONVERTER_QUEUE_TIMEOUT_MS", 120_000, 1),
    timeoutMs,
    maxTimeoutMs: Math.max(timeoutMs, int(env, "CONVERTER_MAX_TIMEOUT_MS", 600_000, 1)),
    maxConversions: int(env, "CONVERTER_MAX_CONVERSIONS", 200, 1),
    maxRssBytes: int(env, "CONVERTER_MAX_RSS_MB", 1536, 1) * 1024 * 1024,
    maxBytes: int(env, "CONVERTER_MAX_BYTES", 200 * 1024 * 1024, 1),
    startTimeoutMs: int(env, "CONVERTER_START_TIMEOUT_MS", 60_000, 1000),
    shutdownGraceMs: int(env, "CONVERTER_SHUTDOWN_GRACE_MS", 5_000),
    tempDir: env.CONVERTER_TEMP_DIR || tmpdir(),
    profileTemplate: env.CONVERTER_PROFILE_TEMPLATE || undefined,
    soffice: env.CONVERTER_SOFFICE || "/usr/lib/libreoffice/program/soffice.bin",
    python: env.CONVERTER_PYTHON || "/usr/bin/python3",
    warm: env.CONVERTER_WARM !== "0",
    logLevel,
  };
}
