import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeTree } from "../confine/index.js";
import type { Progress } from "./image-store.js";

/**
 * One builder per image name across every process on the machine: a
 * directory made with mkdir (atomic), holding the builder's pid. A lock whose
 * process is gone (a build killed half way) is taken over.
 */
export const BuildLock = {
  async with<T>(dir: string, progress: Progress, fn: () => Promise<T>): Promise<T> {
    for (let waited = false; ; ) {
      try {
        mkdirSync(dir);
        writeFileSync(join(dir, "pid"), String(process.pid));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (abandoned(dir)) {
          await removeTree(dir);
          continue;
        }
        if (!waited) progress(`waiting for another build of ${dir.replace(/\.lock$/, "")}`);
        waited = true;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    try {
      return await fn();
    } finally {
      await removeTree(dir);
    }
  },
};

function abandoned(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, "pid"), "utf8"));
  } catch {
    // No pid yet: its maker is between mkdir and write, unless that was long ago.
    try {
      return Date.now() - statSync(dir).mtimeMs > 60_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
