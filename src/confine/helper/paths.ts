import { lstatSync, readdirSync, renameSync, rmdirSync, unlinkSync, type Stats } from "node:fs";
import { spawnSync } from "node:child_process";

/**
 * Paths as bytes. Names inside a tree are never decoded: a name that is not
 * valid UTF-8 stays exactly itself, so it cannot collide with another name.
 */
export type BPath = Buffer;

const SLASH = Buffer.from("/");

export const bjoin = (a: BPath, name: BPath): BPath => (a.length === 0 ? name : Buffer.concat([a, SLASH, name]));
export const under = (root: string, rel: BPath): BPath => (rel.length === 0 ? Buffer.from(root) : Buffer.concat([Buffer.from(root), SLASH, rel]));

export function lstatOrNull(p: BPath): Stats | null {
  try {
    return lstatSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw err;
  }
}

export const names = (dir: BPath): Buffer[] => readdirSync(dir, { encoding: "buffer" });

let trashCount = 0;

/**
 * Remove whatever is at `p` (never following it). A directory is first
 * renamed to a plain name at `scratchRoot`, then removed by `rm -rf`, which
 * copes with trees deeper than PATH_MAX.
 */
export function removeAny(p: BPath, scratchRoot: string): void {
  const st = lstatOrNull(p);
  if (!st) return;
  if (!st.isDirectory()) return unlinkSync(p);
  try {
    rmdirSync(p);
    return;
  } catch {
    /* not empty */
  }
  const trash = `${scratchRoot}/.burrow-trash-${process.pid}-${trashCount++}`;
  renameSync(p, trash);
  const r = spawnSync("rm", ["-rf", "--one-file-system", trash], { stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`could not remove a directory: ${r.stderr.toString().trim()}`);
}

/** Walk a tree top-down without following links; `visit` returns false to skip a directory's insides. */
export function walk(root: string, visit: (rel: BPath, st: Stats, name: Buffer) => boolean | void, rel: BPath = Buffer.alloc(0)): void {
  for (const name of names(under(root, rel))) {
    const r = bjoin(rel, name);
    const st = lstatSync(under(root, r));
    const descend = visit(r, st, name);
    if (st.isDirectory() && descend !== false && lstatOrNull(under(root, r))?.isDirectory()) walk(root, visit, r);
  }
}
