import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { SANDBOX_ID_OFFSET, SANDBOX_ID_RANGE } from "../confine/index.js";
import { builtFile } from "../confine/jail.js";
import { DEFAULT_UID_POOL, type UidPool } from "../sandboxes/uid-ranges.js";

const pexec = promisify(execFile);

/** Free space below which the server does not start (BURROW_MIN_FREE_MB changes it). */
export const DEFAULT_MIN_FREE_MB = 512;

/** BURROW_MIN_FREE_MB, or the default; anything but a whole number of MB is refused. */
export function minFreeMB(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.BURROW_MIN_FREE_MB;
  if (v === undefined || v === "") return DEFAULT_MIN_FREE_MB;
  if (!/^\d{1,9}$/.test(v)) throw new Error(`BURROW_MIN_FREE_MB is "${v}"; set it to a whole number of megabytes, such as 512`);
  return Number(v);
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/** Every directory from / down to `dir`'s deepest existing ancestor (or `dir` itself when it exists). */
function existingPath(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(d)) out.unshift(d);
    if (d === dirname(d)) return out;
  }
}

/**
 * Whether root inside every sandbox may search directory `st`: the first id
 * of each range in `pool` (and of the canonical range, which sandboxes older
 * than ranges run in), on the host.
 */
function sandboxMayEnter(st: { uid: number; gid: number; mode: number }, pool: UidPool): boolean {
  const isRoot = (id: number) => id === SANDBOX_ID_OFFSET || (id >= pool.base && (id - pool.base) % SANDBOX_ID_RANGE === 0 && (id - pool.base) / SANDBOX_ID_RANGE < pool.count);
  if (isRoot(st.uid) && (st.mode & 0o100) === 0) return false;
  if (st.gid !== st.uid && isRoot(st.gid) && (st.mode & 0o010) === 0) return false;
  // Every other sandbox goes by the bits for others.
  return (st.mode & 0o001) !== 0;
}

/**
 * Refuse a data directory the server could not run sandboxes from, or that
 * other users could tamper with, before anything is made in it. Each failure
 * is one sentence naming the directory and the fix.
 */
export async function checkDataDir(dataDir: string, minFreeMB = DEFAULT_MIN_FREE_MB, uids: UidPool = DEFAULT_UID_POOL): Promise<void> {
  for (const d of existingPath(dataDir)) {
    const st = statSync(d);
    const what = d === dataDir ? `the data directory ${d}` : `${d}, a parent of the data directory ${dataDir},`;
    if (!st.isDirectory()) throw new Error(`${what} is not a directory; pick another --data`);
    if (st.uid !== 0)
      throw new Error(`${what} belongs to uid ${st.uid}, who could replace what the server keeps there; use a directory whose parents all belong to root (for example /var/lib/burrow), or chown root it`);
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0 && d !== dataDir)
      throw new Error(`${what} is writable by other users (mode ${octal(st.mode)}) without the sticky bit, so they could swap the data directory; run chmod go-w ${d}, or pick a data directory elsewhere`);
    // The data directory itself is made 0711 at start; its parents must already let sandboxes through.
    if (d !== dataDir && !sandboxMayEnter(st, uids))
      throw new Error(
        `${what} (mode ${octal(st.mode)}) cannot be entered by sandboxes (uids ${uids.base} and up on the host, one range each), so none could start; run chmod o+x ${d}, or pick a data directory under one that others may enter (for example /var/lib/burrow)`,
      );
  }
  mkdirSync(dataDir, { recursive: true });
  const fs = statfsSync(dataDir);
  const freeMB = Math.floor((fs.bavail * fs.bsize) / (1024 * 1024));
  if (freeMB < minFreeMB)
    throw new Error(`the filesystem of the data directory ${dataDir} has ${freeMB} MB free, under the ${minFreeMB} MB the server needs; free some space, pick another --data, or lower BURROW_MIN_FREE_MB`);
  // The overlay check mounts and unmounts (~25 ms): once per kernel, filesystem and uid base is enough.
  const marker = join(dataDir, ".overlay-checked");
  const stamp = `${release()} dev ${statSync(dataDir).dev} base ${uids.base}\n`;
  if (existsSync(marker) && readFileSync(marker, "utf8") === stamp) return;
  await checkOverlayUpper(dataDir, uids.base);
  writeFileSync(marker, stamp);
}

/**
 * Mount a tiny overlay whose upper layer is in the data directory, as every
 * sandbox's is, with an idmapped lower layer (the canonical range seen as a
 * sandbox's own), and write through it.
 */
async function checkOverlayUpper(dataDir: string, sandboxBase: number): Promise<void> {
  const dir = join(dataDir, `.overlay-check-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  for (const d of ["l", "upper", "work", "m"]) mkdirSync(join(dir, d), { recursive: true });
  let mounted = false;
  try {
    await pexec(builtFile("burrow-idmount"), [join(dir, "m"), dir, String(SANDBOX_ID_OFFSET), String(sandboxBase), String(SANDBOX_ID_RANGE), join(dir, "l")]);
    mounted = true;
    writeFileSync(join(dir, "m", "probe"), "ok");
  } catch (err) {
    const why = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split("\n").pop();
    throw new Error(`the filesystem of the data directory ${dataDir} cannot hold overlay upper layers, which every sandbox's disk is (${why}); put the data directory on ext4, xfs or btrfs`);
  } finally {
    if (mounted) await pexec("umount", [join(dir, "m")]).catch(() => pexec("umount", ["-l", join(dir, "m")]));
    rmSync(dir, { recursive: true, force: true });
  }
}
