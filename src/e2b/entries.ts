import { posix } from "node:path";
import { shellQuote } from "./users.js";

/*
 * File entries as envd describes them (owner and group included, which
 * Burrow's files API does not report): one `find -printf` inside the sandbox
 * prints eight NUL-terminated fields per entry.
 */

const FORMAT = "%y\\0%s\\0%m\\0%u\\0%g\\0%T@\\0%l\\0%p\\0";
const TYPES: Record<string, string> = { f: "FILE_TYPE_FILE", d: "FILE_TYPE_DIRECTORY", l: "FILE_TYPE_SYMLINK" };
const LETTER: Record<string, string> = { f: "-", d: "d", l: "L", p: "p", s: "S", c: "c", b: "b" };

/** Exit codes of the scripts below that mean something to the caller. */
export const NOT_FOUND = 3;
export const NOT_A_DIRECTORY = 4;
export const EXISTS = 5;
export const DENIED = 6;

export const statScript = (path: string): string => {
  const p = shellQuote(path);
  return `[ -e ${p} ] || [ -L ${p} ] || exit ${NOT_FOUND}; find -P ${p} -maxdepth 0 -printf '${FORMAT}'`;
};

export const listScript = (path: string, depth: number): string => {
  const p = shellQuote(path);
  return `[ -e ${p} ] || exit ${NOT_FOUND}; [ -d ${p} ] || exit ${NOT_A_DIRECTORY}; find -H ${p} -mindepth 1 -maxdepth ${depth} -printf '${FORMAT}'`;
};

function permissions(type: string, mode: number): string {
  let s = LETTER[type] ?? "?";
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    s += (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") + (bits & 1 ? "x" : "-");
  }
  return s;
}

/** EntryInfo messages (proto3 JSON) from the output of the scripts above. */
export function parseEntries(out: string): object[] {
  const f = out.split("\0");
  const entries: object[] = [];
  for (let i = 0; i + 8 <= f.length; i += 8) {
    const [type, size, mode, owner, group, mtime, target, path] = f.slice(i, i + 8) as string[];
    const perm = parseInt(mode!, 8) & 0o777;
    const secs = Number(mtime);
    entries.push({
      name: posix.basename(path!) || "/",
      type: TYPES[type!] ?? "FILE_TYPE_UNSPECIFIED",
      path: path!,
      size: size!,
      mode: perm,
      permissions: permissions(type!, perm),
      owner: owner!,
      group: group!,
      modifiedTime: new Date(Number.isFinite(secs) ? secs * 1000 : 0).toISOString(),
      ...(type === "l" ? { symlinkTarget: target } : {}),
    });
  }
  return entries;
}
