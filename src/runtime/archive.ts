import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { BurrowError } from "../contract/errors.js";
import { toBurrowError } from "../lib/http-json.js";
import { TarChecker, TarCheckError, type TarLimits } from "../lib/workspace-archive.js";
import { changeable } from "./files.js";
import { randomHex } from "./random.js";

/*
 * A directory as a plain tar stream, out and in, with the image's own tar
 * (GNU or busybox) doing the work: bytes go straight between tar and the
 * socket, with no temporary file on either side.
 */

const TAR_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

const startTar = (args: string[], stdin: "ignore" | "pipe"): ChildProcess => spawn("tar", args, { stdio: [stdin, "pipe", "pipe"], env: TAR_ENV });

/** Resolves with tar's exit code and the end of what it wrote to stderr; a tar that could not start is NOT_SUPPORTED. */
function finished(child: ChildProcess): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "ENOENT" ? new BurrowError("NOT_SUPPORTED", "this sandbox's image has no tar program, which archives need; install tar in the image") : err),
    );
    child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr: stderr.trim() }));
  });
}

async function directory(dir: string, create: boolean): Promise<void> {
  const st = await stat(dir).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT" || !create) throw toBurrowError(err, dir);
    await mkdir(dir, { recursive: true }).catch((e) => Promise.reject(toBurrowError(e, dir)));
    return stat(dir);
  });
  if (!st.isDirectory()) throw new BurrowError("NOT_A_DIRECTORY", `${dir} is not a directory; archives are of directories`, { path: dir });
}

/** GNU and busybox tar read `--exclude` as a glob: the characters that make one are escaped so the path is taken as written. */
const literal = (rel: string) => `./${rel.replace(/^\.?\/+/, "").replace(/([*?[\]\\])/g, "\\$1")}`;

/**
 * Answer with a tar of `dir` (members `./…`), `excludes` (paths relative to
 * dir) left out. A tar that fails before its first byte is answered as an
 * error; one that fails later cuts the response off, so the caller never
 * takes a partial archive for a whole one. `create` makes a missing dir
 * (empty) first.
 */
export async function sendArchive(res: ServerResponse, dir: string, excludes: string[], create = false): Promise<void> {
  if (create) changeable(dir);
  await directory(dir, create);
  const child = startTar(["-C", dir, ...excludes.map((e) => `--exclude=${literal(e)}`), "-cf", "-", "."], "ignore");
  const done = finished(child);
  const out = child.stdout!;
  const first = await new Promise<Buffer | null>((resolve) => {
    out.once("data", (chunk: Buffer) => (out.pause(), resolve(chunk)));
    done.then(() => resolve(null), () => resolve(null));
  });
  if (first === null) {
    const { code, stderr } = await done;
    // Exit 1 is GNU tar's "a file changed while it was read": the archive is still whole.
    if (code > 1) throw new BurrowError("INTERNAL", `tar could not archive ${dir}: ${stderr || `exit ${code}`}`, { path: dir });
  }
  res.writeHead(200, { "content-type": "application/x-tar" });
  if (first) res.write(first);
  res.on("close", () => child.kill("SIGKILL"));
  // tar's pipe gives 64 KiB at a time: corked until the loop turns, each turn's chunks leave in one write.
  let corked = false;
  out.on("data", (c: Buffer) => {
    if (!corked) {
      corked = true;
      res.cork();
      setImmediate(() => ((corked = false), res.uncork()));
    }
    if (!res.write(c)) {
      out.pause();
      res.once("drain", () => out.resume());
    }
  });
  out.resume();
  const { code } = await done.catch(() => ({ code: 2 }));
  if (code > 1) res.destroy();
  else if (out.readableEnded) res.end();
  else out.once("end", () => res.end());
}

export interface ReceivedArchive {
  path: string;
  members: number;
  bytes: number;
}

/**
 * Replace `dir`'s contents with the tar archive in `req`. Each chunk is
 * checked (TarChecker) before tar sees it; tar unpacks into a staging
 * directory inside `dir`, and only a whole, accepted archive is swapped in:
 * a refused, broken or cut-off one leaves `dir` as it was.
 */
export async function receiveArchive(req: IncomingMessage, dir: string, limits: TarLimits): Promise<ReceivedArchive> {
  changeable(dir);
  if (dir.replace(/\/+$/, "") === "") throw new BurrowError("INVALID_PATH", "an archive cannot replace the whole filesystem (/); name a directory", { path: dir });
  await directory(dir, true);
  const stageName = `.burrow-unpack-${randomHex(8)}`;
  const stage = join(dir, stageName);
  await mkdir(stage, { mode: 0o700 }).catch((e) => Promise.reject(toBurrowError(e, dir)));
  const child = startTar(["-C", stage, "-xf", "-"], "pipe");
  const done = finished(child);
  const checker = new TarChecker(limits);
  const stdin = child.stdin!;
  stdin.on("error", () => {}); // a tar that stops reading shows in its exit code
  try {
    const refused = await feed(req, child, checker);
    if (refused) {
      child.kill("SIGKILL");
      throw new BurrowError(refused.details.limit !== undefined ? "PAYLOAD_TOO_LARGE" : "ARCHIVE_CORRUPT", `the archive was refused: ${refused.reason}; ${dir} is unchanged`, { path: dir, ...refused.details });
    }
    stdin.end();
    const { code, stderr } = await done;
    if (code !== 0) {
      if (/No space left|Disk quota exceeded/i.test(stderr)) throw toBurrowError(Object.assign(new Error(stderr), { code: "ENOSPC" }), dir);
      throw new BurrowError("ARCHIVE_CORRUPT", `tar could not unpack the archive (${stderr || `exit ${code}`}); ${dir} is unchanged`, { path: dir });
    }
    const summary = checker.end();
    await swapIn(dir, stageName);
    return { path: dir, ...summary };
  } catch (err) {
    child.kill("SIGKILL");
    await done.catch(() => {});
    await rm(stage, { recursive: true, force: true }).catch(() => {});
    throw toBurrowError(err, dir);
  }
}

/**
 * Hand the upload to tar's stdin chunk by chunk, each checked first, with
 * backpressure both ways. Resolves with the check's refusal (the rest of the
 * upload is then read and dropped, so the connection stays usable) or
 * undefined once the whole upload is in; rejects for one cut off.
 */
function feed(req: IncomingMessage, child: ChildProcess, checker: TarChecker): Promise<TarCheckError | undefined> {
  const stdin = child.stdin!;
  let tarGone = false;
  child.once("close", () => {
    tarGone = true;
    req.resume(); // nothing will drain now; its exit code tells why
  });
  return new Promise((resolve, reject) => {
    const stop = () => {
      req.off("data", onData).off("end", onEnd).off("close", onClose);
      req.resume();
    };
    const check = (f: () => void): boolean => {
      try {
        f();
        return true;
      } catch (err) {
        stop();
        if (err instanceof TarCheckError) resolve(err);
        else reject(err);
        return false;
      }
    };
    const onData = (chunk: Buffer) => {
      if (!check(() => checker.push(chunk)) || tarGone) return;
      if (!stdin.write(chunk)) {
        req.pause();
        stdin.once("drain", () => req.resume());
      }
    };
    const onEnd = () => check(() => checker.end()) && (stop(), resolve(undefined));
    const onClose = () => {
      if (req.complete) return;
      stop();
      reject(new BurrowError("VALIDATION_FAILED", "the archive upload was cut off before its end; nothing was changed"));
    };
    req.on("data", onData).once("end", onEnd).once("close", onClose);
  });
}

/** Everything in dir but the stage goes; then the stage's contents move up and the stage goes too. */
async function swapIn(dir: string, stageName: string): Promise<void> {
  const stage = join(dir, stageName);
  for (const name of await readdir(dir)) if (name !== stageName) await rm(join(dir, name), { recursive: true, force: true });
  for (const name of await readdir(stage)) await rename(join(stage, name), join(dir, name));
  await rmdir(stage);
}
