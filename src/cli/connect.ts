import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Burrow } from "../client/node.js";

/** The CLI talks to a server like any SDK user: BURROW_URL, and BURROW_TOKEN or the data directory's token. */
export function connect(): Burrow {
  let token = process.env.BURROW_TOKEN;
  if (!token) {
    const file = join(process.env.BURROW_DATA ?? "/var/lib/burrow", "token");
    if (existsSync(file)) token = readFileSync(file, "utf8").trim();
  }
  const port = process.env.BURROW_PORT ?? "7070";
  return new Burrow({ url: process.env.BURROW_URL ?? `http://127.0.0.1:${port}`, token });
}
