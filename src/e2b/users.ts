import type { IncomingMessage } from "node:http";
import { posix } from "node:path";
import { ConnectError } from "./errors.js";

/*
 * E2B runs commands and file operations as a user named in each request
 * (`Authorization: Basic <user>:` for RPC, `?username=` for /files); its base
 * template's default is `user` with home /home/user. Burrow's own API runs
 * everything as root; only requests through /e2b switch users.
 */

export const DEFAULT_USER = "user";
const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

function checked(name: string): string {
  if (!NAME.test(name)) throw new ConnectError("invalid_argument", `user ${JSON.stringify(name.slice(0, 40))} is not a valid user name (lowercase letters, digits, _ and -)`);
  return name;
}

/** The user of an envd RPC: the Basic credentials' name, or the default. */
export function userOfRpc(req: IncomingMessage): string {
  const h = req.headers.authorization ?? "";
  if (!h.startsWith("Basic ")) return DEFAULT_USER;
  const decoded = Buffer.from(h.slice(6).trim(), "base64").toString("utf8");
  const name = decoded.split(":")[0] ?? "";
  return name ? checked(name) : DEFAULT_USER;
}

export const userOfQuery = (username: string | undefined): string => (username ? checked(username) : DEFAULT_USER);

export const homeOf = (user: string): string => (user === "root" ? "/root" : `/home/${user}`);

/** Relative paths are relative to the user's home, as envd resolves them. */
export function resolvePath(path: string, user: string): string {
  const p = path === "~" ? homeOf(user) : path.startsWith("~/") ? posix.join(homeOf(user), path.slice(2)) : path;
  return posix.normalize(p.startsWith("/") ? p : posix.join(homeOf(user), p));
}

export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A shell prefix that runs the rest of the line as `user` (its uid, gid and groups). */
export function asUser(user: string): string {
  if (user === "root") return "";
  return `setpriv --reuid=${user} --regid=${user} --init-groups `;
}

/** The variables a login as `user` would set; the caller's own envs win over them. */
export function userEnv(user: string): Record<string, string> {
  return { HOME: homeOf(user), USER: user, LOGNAME: user };
}

/**
 * Creates `user` (home, bash) when the image lacks it; other names must
 * already exist. A new `user` is also given Burrow's /workspace when it is empty (as
 * in a fresh sandbox), where agent SDKs put their workspace by default.
 * (The sandbox runtime does this in-process; this script serves runtimes
 * from before that, kept running across an upgrade.)
 */
export function provisionScript(user: string): string {
  const home = homeOf(user);
  return [
    `if ! id -u ${user} >/dev/null 2>&1; then`,
    `  useradd -m -s /bin/bash ${user} >/dev/null 2>&1 || { echo "could not create user ${user}" >&2; exit 1; }`,
    `  [ ! -d /workspace ] || [ -n "$(ls -A /workspace)" ] || chown ${user}:${user} /workspace`,
    `fi`,
    `[ -d ${home} ] || install -d -o ${user} -g ${user} ${home}`,
  ].join("\n");
}
