import { constants, createWriteStream } from "node:fs";
import { chmod, cp, lstat, mkdir, open, readdir, readlink, rename, rm, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, posix } from "node:path";
import { randomHex } from "./random.js";
import { pipeline } from "node:stream/promises";
import { PassThrough, type Readable } from "node:stream";
import type { Stats } from "node:fs";
import { BurrowError } from "../contract/errors.js";
import type { FileEntry, FileStat } from "../contract/index.js";
import { mimeType } from "./mime.js";
import { toBurrowError } from "../lib/http-json.js";
import { FILE_DEADLINE_MS, withDeadline } from "./deadline.js";

/** A move across layers copies the tree, and a recursive listing walks one: they get longer. */
const TREE_DEADLINE_MS = 10 * 60_000;

/*
 * File operations, run inside the sandbox's own mount namespace: a path, its
 * `..` parts and any symlink resolve in the sandbox's root, never the host's.
 */

function normalize(path: string): string {
  if (!path.startsWith("/")) throw new BurrowError("INVALID_PATH", `${path} is not absolute: paths start with /`, { path });
  if (path.includes("\0")) throw new BurrowError("INVALID_PATH", "paths cannot contain NUL bytes", { path });
  return path;
}

/** Burrow's own files inside the sandbox (the runtime, its sockets) are not the files API's to change. */
export function changeable(path: string): string {
  normalize(path);
  const p = posix.normalize(path);
  if (p === "/.burrow" || p.startsWith("/.burrow/"))
    throw new BurrowError("PERMISSION_DENIED", `${path} is Burrow's own (the runtime and its sockets live under /.burrow); it cannot be changed`, { path });
  return path;
}

const typeOf = (st: Stats): FileEntry["type"] =>
  st.isFile() ? "file" : st.isDirectory() ? "directory" : st.isSymbolicLink() ? "symlink" : "other";

function entry(path: string, st: Stats): FileEntry {
  return {
    name: basename(path) || "/",
    path,
    type: typeOf(st),
    size: st.size,
    mode: (st.mode & 0o7777).toString(8).padStart(4, "0"),
    modifiedAt: st.mtime.toISOString(),
  };
}

/**
 * Every file operation: errno errors become coded ones, and none takes longer
 * than its deadline (0: none, for work whose length the caller sets, such as
 * an upload's body).
 */
async function wrap<T>(path: string, f: () => Promise<T>, deadlineMs = FILE_DEADLINE_MS): Promise<T> {
  try {
    return await (deadlineMs ? withDeadline(f(), path, deadlineMs) : f());
  } catch (err) {
    throw toBurrowError(err, path);
  }
}

export async function statPath(path: string): Promise<FileStat> {
  normalize(path);
  return wrap(path, async () => {
    const st = await lstat(path);
    const e: FileStat = entry(path, st);
    if (st.isSymbolicLink()) e.target = await readlink(path);
    if (st.isFile()) e.mimeType = mimeType(path);
    return e;
  });
}

export async function exists(path: string): Promise<{ exists: boolean; type?: FileEntry["type"] }> {
  normalize(path);
  try {
    return { exists: true, type: typeOf(await withDeadline(lstat(path), path)) };
  } catch (err) {
    if ((err as BurrowError).code === "FILE_TIMEOUT") throw err;
    return { exists: false };
  }
}

/** `head`, then everything `rest` gives. */
function prepend(head: Buffer, rest: Readable): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  if (head.length) out.write(head);
  rest.on("error", (err) => out.destroy(err));
  out.on("close", () => rest.destroy());
  rest.pipe(out);
  return out;
}

export async function openForRead(path: string): Promise<{ stream: Readable; size: number; known: boolean; mimeType: string }> {
  normalize(path);
  return wrap(path, async () => {
    // O_NONBLOCK: opening a FIFO (even one swapped in after a look) returns at once instead of
    // holding one of the runtime's few I/O threads until a writer comes. The type is then read from the
    // open file itself, so what is checked is what is read.
    const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new BurrowError("IS_A_DIRECTORY", `${path} is a directory: list it instead`, { path });
      // A FIFO, socket or device would block or never end: only regular files are read.
      if (!st.isFile()) throw new BurrowError("NOT_A_FILE", `${path} is not a regular file (a FIFO, socket or device); only regular files can be read`, { path });
      // The first read tells a readable file from a kernel file that refuses reads (/proc/<pid>/mem), while an error answer is still possible.
      const first = Buffer.alloc(Math.min(Math.max(st.size, 4096), 1024 * 1024));
      let got;
      try {
        got = await fh.read(first, 0, first.length, 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EIO" || (err as NodeJS.ErrnoException).code === "EINVAL")
          throw new BurrowError("NOT_A_FILE", `${path} cannot be read as a file (${(err as NodeJS.ErrnoException).code}): kernel files such as /proc/<pid>/mem are not read this way`, { path });
        throw err;
      }
      const head = first.subarray(0, got.bytesRead);
      const rest = fh.createReadStream({ start: got.bytesRead, highWaterMark: 1024 * 1024 });
      const stream = prepend(head, rest);
      // Files of /proc and /sys say size 0 and still have content: their length is only known at the end.
      return { stream, size: st.size, known: st.size > 0, mimeType: mimeType(path) };
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  });
}

/**
 * Write atomically: the body goes to a temporary file beside the target and is
 * renamed over it only when complete, so an interrupted upload leaves nothing.
 * The mode given wins; otherwise an existing file keeps its mode.
 */
export async function writeFrom(path: string, body: Readable, mode?: number): Promise<{ path: string; size: number }> {
  changeable(path);
  // The body takes as long as the caller sends it: only the steps around it have a deadline.
  const existing = await wrap(path, async () => {
    const st = await stat(path).catch(() => undefined);
    if (st?.isDirectory()) throw new BurrowError("IS_A_DIRECTORY", `${path} is a directory`, { path });
    await mkdir(dirname(path), { recursive: true });
    return st;
  });
  const tmp = join(dirname(path), `.burrow-upload-${randomHex(6)}`);
  try {
    await wrap(path, () => pipeline(body, createWriteStream(tmp, { mode: 0o644, highWaterMark: 1024 * 1024 })), 0);
    return await wrap(path, async () => {
      await chmod(tmp, mode ?? (existing ? existing.mode & 0o7777 : 0o644));
      await rename(tmp, path);
      return { path, size: (await stat(path)).size };
    });
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

export async function remove(path: string, recursive: boolean): Promise<void> {
  changeable(path);
  if (path === "/") throw new BurrowError("INVALID_PATH", "refusing to delete /", { path });
  return wrap(path, async () => {
    const st = await lstat(path);
    if (st.isDirectory() && !recursive)
      throw new BurrowError("IS_A_DIRECTORY", `${path} is a directory: pass recursive=true to delete it and everything in it`, { path });
    await rm(path, { recursive, force: false });
  }, recursive ? TREE_DEADLINE_MS : FILE_DEADLINE_MS);
}

export async function makeDir(path: string, recursive: boolean): Promise<void> {
  changeable(path);
  return wrap(path, async () => {
    await mkdir(path, { recursive });
  });
}

export async function move(from: string, to: string, overwrite: boolean): Promise<void> {
  changeable(from);
  changeable(to);
  normalize(to);
  return wrap(from, async () => {
    await lstat(from);
    if (!overwrite && (await lstat(to).catch(() => undefined)))
      throw new BurrowError("FILE_EXISTS", `${to} already exists: pass overwrite=true to replace it`, { path: to });
    await mkdir(dirname(to), { recursive: true });
    try {
      await rename(from, to);
    } catch (err) {
      // overlayfs refuses to rename directories that come from a lower layer.
      if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
      await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, force: overwrite });
      await rm(from, { recursive: true });
    }
  }, TREE_DEADLINE_MS);
}

export async function list(path: string, recursive: boolean, includeHidden: boolean, limit = 100_000): Promise<FileEntry[]> {
  normalize(path);
  return wrap(path, async () => {
    const st = await stat(path);
    if (!st.isDirectory()) throw new BurrowError("NOT_A_DIRECTORY", `${path} is not a directory`, { path });
    const out: FileEntry[] = [];
    const walk = async (dir: string): Promise<void> => {
      const names = (await readdir(dir)).sort();
      for (const name of names) {
        if (!includeHidden && name.startsWith(".")) continue;
        if (out.length >= limit) return;
        const p = dir === "/" ? `/${name}` : `${dir}/${name}`;
        const s = await lstat(p).catch(() => undefined);
        if (!s) continue;
        out.push(entry(p, s));
        if (recursive && s.isDirectory()) await walk(p);
      }
    };
    await walk(path);
    return out;
  }, recursive ? TREE_DEADLINE_MS : FILE_DEADLINE_MS);
}
