import { randomBytes } from "node:crypto";
import pino, { type Logger } from "pino";

export type { Logger };

export interface LogOptions {
  /** "json" (one object per line) or "pretty" (for a terminal). */
  format: "json" | "pretty";
  level: string;
}

/** The server's logger: JSON lines on stderr; `pretty` prints `time level msg key=value` for people. */
export function createLogger(opts: LogOptions): Logger {
  if (opts.format === "pretty") {
    return pino({ level: opts.level, base: undefined }, {
      write(line: string) {
        const { time, level, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
        process.stderr.write(`${new Date(Number(time)).toISOString()} ${pino.levels.labels[Number(level)] ?? level} ${msg ?? ""} ${fields}\n`);
      },
    });
  }
  return pino({ level: opts.level, base: undefined }, pino.destination({ fd: 2, sync: false }));
}

/** A short id for one HTTP request: in the response header, the error body and every log line about it. */
export const newRequestId = () => randomBytes(8).toString("hex");
