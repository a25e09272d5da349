import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, chmod, lutimes, utimes, stat } from "node:fs/promises";
import { basename, dirname, join, posix } from "node:path";
import { randomHex } from "./random.js";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { createGunzip, createGzip } from "node:zlib";
import { BurrowError } from "../contract/errors.js";
import { globToRegExp, PathFilter } from "./glob.js";

/** tar-stream loads at the first backup or restore: most sandboxes never make one, and each start is faster without it. */
const tarStream = () => import("tar-stream");

/** One rule of a .gitignore file, relative to the directory holding it. */
interface IgnoreRule {
  base: string;
  re: RegExp;
  dirOnly: boolean;
  anchored: boolean;
}

/** The common subset of .gitignore: globs, `/`-anchored paths, `dir/` rules. Negations (`!`) are not applied. */
function parseGitignore(base: string, text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (let line of text.split("\n")) {
    line = line.trim();
    if (!line || line.startsWith("#") || line.startsWith("!")) continue;
    const dirOnly = line.endsWith("/");
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.startsWith("/") || line.slice(0, -1).includes("/");
    if (line.startsWith("/")) line = line.slice(1);
    rules.push({ base, re: globToRegExp(line), dirOnly, anchored });
  }
  return rules;
}

function ignoredBy(rules: IgnoreRule[], rel: string, isDir: boolean): boolean {
  return rules.some((r) => {
    if (r.dirOnly && !isDir) return false;
    if (r.base && !rel.startsWith(r.base + "/")) return false;
    const local = r.base ? rel.slice(r.base.length + 1) : rel;
    return r.anchored ? r.re.test(local) : r.re.test(posix.basename(local));
  });
}

export interface PackStats {
  files: number;
}

/**
 * A gzipped tar of `dir`: directories (empty ones too), files, symlinks (as
 * links), modes and times. Paths are relative, so it restores anywhere.
 */
export async function packDirectory(dir: string, opts: { excludes?: string[]; gitignore?: boolean }): Promise<{ stream: Readable; done: Promise<PackStats> }> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new BurrowError("FILE_NOT_FOUND", `${dir} does not exist in the sandbox`, { path: dir });
  if (!st.isDirectory()) throw new BurrowError("NOT_A_DIRECTORY", `${dir} is not a directory; back up a directory`, { path: dir });
  const filter = new PathFilter([], opts.excludes ?? []);
  const { pack } = await tarStream();
  const tar = pack();
  const stats: PackStats = { files: 0 };
  const ignore: IgnoreRule[] = [];

  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? join(dir, rel) : dir;
    const names = (await readdir(abs)).sort();
    if (opts.gitignore && names.includes(".gitignore")) ignore.push(...parseGitignore(rel, await readFile(join(abs, ".gitignore"), "utf8").catch(() => "")));
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(abs, name);
      const s = await lstat(p).catch(() => undefined);
      if (!s) continue; // gone since the listing
      if (!filter.enters(r) || ignoredBy(ignore, r, s.isDirectory())) continue;
      const header = { name: r, mode: s.mode & 0o7777, mtime: s.mtime, uid: s.uid, gid: s.gid };
      if (s.isDirectory()) {
        tar.entry({ ...header, type: "directory" });
        await walk(r);
      } else if (s.isSymbolicLink()) {
        tar.entry({ ...header, type: "symlink", linkname: await readlink(p) });
      } else if (s.isFile()) {
        stats.files++;
        await new Promise<void>((resolve, reject) => {
          const entry = tar.entry({ ...header, type: "file", size: s.size }, (err) => (err ? reject(err) : resolve()));
          pipeline(createReadStream(p), entry).catch(reject);
        });
      }
      // Sockets, fifos and devices are not backed up.
    }
  };
  const done = walk("").then(
    () => {
      tar.finalize();
      return stats;
    },
    (err) => {
      tar.destroy(err);
      throw err;
    },
  );
  done.catch(() => {});
  return { stream: tar.pipe(createGzip({ level: 6 })), done };
}

/**
 * Where an entry lands in the staging directory, with every parent checked
 * to be a real directory (a missing one is made): an entry under a symbolic
 * link from earlier in the archive is refused, so nothing lands outside the
 * directory being restored. A non-directory already at the place (an earlier
 * entry of the same name) is removed first. Resolves to undefined for a
 * directory that is already there.
 */
async function placeEntry(stage: string, rel: string, isDir: boolean): Promise<string | undefined> {
  const parts = rel.split("/");
  let at = stage;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    const st = await lstat(at).catch(() => undefined);
    if (!st) await mkdir(at);
    else if (!st.isDirectory()) throw new BurrowError("ARCHIVE_CORRUPT", `the backup puts ${rel} under ${st.isSymbolicLink() ? "a symbolic link" : "a file"}; nothing was restored`);
  }
  const target = join(at, parts[parts.length - 1]!);
  const st = await lstat(target).catch(() => undefined);
  if (st?.isDirectory()) {
    if (isDir) return undefined;
    throw new BurrowError("ARCHIVE_CORRUPT", `the backup holds both a directory and a file at ${rel}; nothing was restored`);
  }
  if (st) await rm(target);
  return target;
}

/**
 * Unpack a backup into `dir`: everything lands in a staging directory next
 * to it first, then replaces `dir` in one rename, so a failed restore leaves
 * `dir` as it was.
 */
export async function unpackDirectory(dir: string, body: Readable): Promise<{ dir: string; files: number }> {
  if (dir === "/") throw new BurrowError("INVALID_PATH", "restore into a directory, not /");
  await mkdir(dirname(dir), { recursive: true });
  const stage = join(dirname(dir), `.${basename(dir)}.restore-${randomHex(4)}`);
  await mkdir(stage, { mode: 0o755 });
  let files = 0;
  const dirTimes: [string, Date, number][] = [];
  try {
    const { extract } = await tarStream();
    const ex = extract();
    ex.on("entry", (h, stream, next) => {
      const rel = posix.normalize(h.name).replace(/\/$/, "");
      if (rel.startsWith("/") || rel === ".." || rel.startsWith("../")) return next(new BurrowError("ARCHIVE_CORRUPT", `the backup holds a path outside its directory: ${h.name}`));
      const done = (err?: unknown) => (err ? next(err as Error) : next());
      const mode = (h.mode ?? 0o644) & 0o7777;
      if (rel === "" || rel === ".") {
        stream.resume();
        return next();
      }
      if (h.type === "directory") {
        stream.resume();
        placeEntry(stage, rel, true)
          .then((target) => (target ? mkdir(target).then(() => target) : join(stage, rel)))
          .then((target) => dirTimes.push([target, h.mtime ?? new Date(), mode]))
          .then(() => done(), done);
      } else if (h.type === "symlink") {
        stream.resume();
        placeEntry(stage, rel, false)
          .then(async (target) => {
            await symlink(h.linkname ?? "", target!);
            await lutimes(target!, h.mtime ?? new Date(), h.mtime ?? new Date()).catch(() => {});
          })
          .then(() => done(), done);
      } else if (h.type === "file") {
        files++;
        placeEntry(stage, rel, false)
          // "wx": O_EXCL never opens through a link, even one that appeared since the check.
          .then((target) => pipeline(stream, createWriteStream(target!, { mode, flags: "wx" })).then(() => target!))
          .then(async (target) => {
            await chmod(target, mode);
            await utimes(target, h.mtime ?? new Date(), h.mtime ?? new Date());
          })
          .then(() => done(), done);
      } else {
        stream.resume();
        next();
      }
    });
    await pipeline(body, createGunzip(), ex);
    // Directory modes and times last: writing inside a directory changes its time, and a read-only one would refuse files.
    for (const [d, t, m] of dirTimes.reverse()) {
      await chmod(d, m);
      await utimes(d, t, t);
    }
    const old = `${stage}.old`;
    const had = await lstat(dir).then(() => true, () => false);
    if (had) await rename(dir, old);
    await rename(stage, dir);
    if (had) await rm(old, { recursive: true, force: true });
    return { dir, files };
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    if (err instanceof BurrowError) throw err;
    throw new BurrowError("ARCHIVE_CORRUPT", `the backup could not be unpacked (${(err as Error).message}); ${dir} is unchanged`);
  }
}
