import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Debian's login scripts start two programs each time a login shell starts:
 * `/etc/profile` runs `id -u` to tell root from others, and root's `.profile`
 * runs `mesg n`, which only means something on a terminal. E2B's SDK and the
 * OpenAI provider run every command in a login shell (`bash -l -c`), so these
 * two forks were most of a command's cost. The edits keep what the scripts do:
 * bash knows its uid already (`$EUID`; other shells still ask `id -u`), and
 * `mesg` runs when there is a terminal. A file that does not read as expected
 * (another Debian release) is left as it is.
 */
const EDITS: { file: string; from: string; to: string }[] = [
  { file: "etc/profile", from: 'if [ "$(id -u)" -eq 0 ]; then', to: 'if [ "${EUID:-$(id -u)}" -eq 0 ]; then' },
  { file: "root/.profile", from: "\nmesg n 2> /dev/null || true", to: "\n[ -t 0 ] && mesg n 2> /dev/null || true" },
];

/** Apply the edits to a freshly built image's root filesystem; returns the files changed. */
export function speedUpLoginShells(rootfs: string): string[] {
  const changed: string[] = [];
  for (const e of EDITS) {
    const path = join(rootfs, e.file);
    // A tree just built from Debian's packages; still, only plain files are edited, never through a link.
    if (!plainFileIn(rootfs, e.file)) continue;
    const fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW);
    try {
      const text = readFileSync(fd, "utf8");
      if (!text.includes(e.from)) continue;
      const { mode } = fstatSync(fd);
      writeFileSync(path, text.split(e.from).join(e.to), { mode });
      changed.push(e.file);
    } finally {
      closeSync(fd);
    }
  }
  return changed;
}

/** True when every part of `rel` under `root` is a real directory and the last a regular file. */
function plainFileIn(root: string, rel: string): boolean {
  const parts = rel.split("/");
  let at = root;
  for (let i = 0; i < parts.length; i++) {
    at = join(at, parts[i]!);
    let st;
    try {
      st = lstatSync(at);
    } catch {
      return false;
    }
    if (i < parts.length - 1 ? !st.isDirectory() : !st.isFile()) return false;
  }
  return true;
}
