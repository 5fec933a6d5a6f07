// One JSON line per event on stderr, filtered by level.

export type Level = "debug" | "info" | "warn" | "error";
export type Logger = (level: Level, message: string, fields?: Record<string, unknown>) => void;

const rank: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(minimum: Level | "silent"): Logger {
  return (level, message, fields) => {
    if (rank[level] < rank[minimum]) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
  };
}
