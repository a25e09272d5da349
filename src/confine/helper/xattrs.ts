import { spawnSync } from "node:child_process";
import type { BPath } from "./paths.js";

/**
 * Overlay's opaque-directory mark is the xattr trusted.overlay.opaque="y".
 * Node has no xattr calls, so getfattr and setfattr do the reading and
 * writing, with names escaped the way those tools escape them (\ooo).
 */

const unescape = (b: Buffer): Buffer => {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x5c && i + 3 < b.length + 0 && /^[0-7]{3}$/.test(b.subarray(i + 1, i + 4).toString("latin1"))) {
      out.push(parseInt(b.subarray(i + 1, i + 4).toString("latin1"), 8));
      i += 3;
    } else out.push(b[i]!);
  }
  return Buffer.from(out);
};

const escape = (b: Buffer): Buffer => {
  const out: string[] = [];
  for (const c of b) out.push(c <= 0x20 || c === 0x5c || c === 0x3d || c >= 0x7f ? "\\" + c.toString(8).padStart(3, "0") : String.fromCharCode(c));
  return Buffer.from(out.join(""), "latin1");
};

/** Directories under `root` (relative, as bytes) marked opaque. */
export function opaqueDirs(root: string): Buffer[] {
  const r = spawnSync("getfattr", ["-R", "-h", "--absolute-names", "-m", "^trusted\\.overlay\\.opaque$", "-d", root], {
    maxBuffer: 1 << 30,
    env: { LC_ALL: "C", PATH: "/usr/bin" },
  });
  if (r.status !== 0 && r.stdout.length === 0 && r.stderr.length) throw new Error(`getfattr failed: ${r.stderr.toString().trim()}`);
  const out: Buffer[] = [];
  let file: Buffer | undefined;
  const prefix = Buffer.from(root + "/");
  for (const line of splitLines(r.stdout)) {
    if (line.subarray(0, 8).toString("latin1") === "# file: ") file = unescape(line.subarray(8));
    else if (file && line.toString("latin1") === 'trusted.overlay.opaque="y"') {
      if (file.subarray(0, prefix.length).equals(prefix)) out.push(Buffer.from(file.subarray(prefix.length)));
    }
  }
  return out;
}

/** Mark directories (absolute paths in the jail) opaque. */
export function markOpaque(paths: BPath[]): void {
  if (!paths.length) return;
  const dump = Buffer.concat(paths.flatMap((p) => [Buffer.from("# file: "), escape(p), Buffer.from('\ntrusted.overlay.opaque="y"\n\n')]));
  const r = spawnSync("setfattr", ["-h", "--restore=-"], { input: dump, env: { LC_ALL: "C", PATH: "/usr/bin" } });
  if (r.status !== 0) throw new Error(`setfattr failed: ${r.stderr.toString().trim()}`);
}

function splitLines(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++)
    if (b[i] === 0x0a) {
      out.push(b.subarray(start, i));
      start = i + 1;
    }
  if (start < b.length) out.push(b.subarray(start));
  return out;
}
