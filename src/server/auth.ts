import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";

/** The admin token: BURROW_TOKEN, or one generated on first start and kept (0600) in the data directory. */
export function loadToken(dataDir: string, fromEnv?: string): string {
  if (fromEnv) return fromEnv;
  const file = join(dataDir, "token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const token = `brw_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, token + "\n", { mode: 0o600, flag: "wx" });
  return token;
}

export function isAuthorized(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization ?? "";
  const given = Buffer.from(h.startsWith("Bearer ") ? h.slice(7).trim() : "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
