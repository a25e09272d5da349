import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A host path bound into the jail at `at` (an absolute path inside it). */
export interface Bind {
  host: string;
  at: string;
  writable?: boolean;
}

/** Where a built helper is: next to the server bundle in dist/, or in dist/ from a source checkout. */
export function builtFile(file: "confine-helper.cjs" | "burrow-copytree" | "burrow-idshift" | "burrow-idmount"): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, file), join(here, "..", file), join(here, "..", "..", "dist", file)]) if (existsSync(c)) return c;
  throw new Error(`dist/${file} is missing: run npm run build`);
}

const helperPath = () => builtFile("confine-helper.cjs");

const JAIL_ROOT = "/run/burrow-jail";

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Run one helper job in a jail (see README.md): a private mount namespace
 * whose root is a read-only tmpfs with /usr, the helper and the given binds.
 * Resolves with the helper's JSON answer; rejects with its error message.
 */
export function runJailed<T>(binds: Bind[], job: object): Promise<T> {
  mkdirSync(JAIL_ROOT, { recursive: true, mode: 0o700 });
  const node = process.execPath;
  const nodeHome = node.startsWith("/usr/") ? undefined : dirname(dirname(node));
  const all: Bind[] = [
    { host: "/usr", at: "/usr" },
    { host: helperPath(), at: "/helper.cjs" },
    ...(nodeHome ? [{ host: nodeHome, at: nodeHome }] : []),
    ...binds,
  ];
  const R = JAIL_ROOT;
  const lines = [
    "set -e",
    `mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev burrow-jail ${R}`,
    `cd ${R}; ln -s usr/bin bin; ln -s usr/lib lib; ln -s usr/lib64 lib64; ln -s usr/sbin sbin; mkdir dev tmp; touch dev/null`,
    `mount --bind /dev/null ${R}/dev/null`,
  ];
  for (const b of all) {
    const target = R + b.at;
    // A file is bound onto a file, a directory onto a directory.
    lines.push(`if [ -d ${q(b.host)} ]; then mkdir -p ${q(target)}; else mkdir -p "$(dirname ${q(target)})"; touch ${q(target)}; fi`);
    lines.push(`mount --bind ${b.writable ? "" : "-o ro"} ${q(b.host)} ${q(target)}`);
    if (!b.writable) lines.push(`mount -o remount,bind,ro,nosuid,nodev ${q(target)}`);
    else lines.push(`mount -o remount,bind,nosuid,nodev ${q(target)}`);
  }
  lines.push(`mount -o remount,bind,ro ${R}`);
  lines.push(`exec chroot ${R} ${q(node)} /helper.cjs`);
  return new Promise((resolve, reject) => {
    const child = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", lines.join("\n")], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err = (err + d).slice(-8000)));
    child.on("error", reject);
    child.on("close", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      let answer: { ok: boolean; result?: T; error?: string } | undefined;
      try {
        answer = JSON.parse(last);
      } catch {
        /* no answer: the jail itself failed */
      }
      if (answer?.ok && code === 0) resolve(answer.result as T);
      else reject(new JailError(answer?.error ?? `the confined helper failed (exit ${code}): ${err.trim().split("\n").slice(-3).join("; ")}`));
    });
    child.stdin.end(JSON.stringify(job));
  });
}

/** A job the helper refused or could not finish; the message is the helper's own. */
export class JailError extends Error {
  override name = "JailError";
}
