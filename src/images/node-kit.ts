import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createHash } from "node:crypto";
import { RUNTIME_NODE_FLAGS, RUNTIME_SNAPSHOT, writeStartupFiles } from "./startup-files.js";

/**
 * A Node binary with the shared libraries it links against, laid out so any
 * image can run it through its own dynamic loader, even an image without Node
 * or with another libc. Built once per Node version into the cache.
 */
export function ensureNodeKit(cacheDir: string, nodeBinary = process.execPath): string {
  const dir = join(cacheDir, "node-kit", `${process.version}-${process.arch}`);
  if (existsSync(join(dir, "ready"))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "bin"), { recursive: true });
  mkdirSync(join(tmp, "lib"), { recursive: true });
  copyFileSync(nodeBinary, join(tmp, "bin", "node"));
  chmodSync(join(tmp, "bin", "node"), 0o755);
  const ldd = execFileSync("ldd", [nodeBinary], { encoding: "utf8" });
  for (const m of ldd.matchAll(/(\/\S+)\s+\(0x/g)) {
    const lib = m[1]!;
    copyFileSync(lib, join(tmp, "lib", basename(lib))); // follows symlinks: the real file lands under the soname
  }
  if (!existsSync(join(tmp, "lib", "ld-linux-x86-64.so.2"))) throw new Error(`could not find the dynamic loader of ${nodeBinary} in: ${ldd}`);
  writeFileSync(join(tmp, "ready"), "");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

const runtimeFiles = (distRuntimeDir: string): string[] =>
  listFiles(distRuntimeDir).filter((f) => !f.endsWith(".map") && !f.endsWith(".cache") && f !== RUNTIME_SNAPSHOT);

/** The runtime directory's name in the cache: a hash of what its built files depend on. */
export function runtimeDirName(distRuntimeDir: string, flags: readonly string[] = RUNTIME_NODE_FLAGS): string {
  const hash = createHash("sha256").update(process.version).update(flags.join(" "));
  for (const f of runtimeFiles(distRuntimeDir)) hash.update(f).update(readFileSync(join(distRuntimeDir, f)));
  return hash.digest("hex").slice(0, 16);
}

/**
 * The runtime directory (bundle, init binary, native addons), copied into the
 * cache under its content hash, so sandboxes never depend on where the
 * checkout lives (a checkout under /root is not reachable from inside a user
 * namespace) and a rebuilt runtime never changes under a running sandbox.
 * It also holds the runtime's startup snapshot and V8's code cache for its
 * bundle (startup-files.ts), made by the Node kit's copy of this Node with
 * the runtime's flags, so the name covers the Node version and those flags
 * too (V8 refuses a code cache made with other flags).
 */
export function ensureRuntimeDir(cacheDir: string, distRuntimeDir: string, nodeKitDir = ensureNodeKit(cacheDir)): string {
  const files = runtimeFiles(distRuntimeDir);
  const dir = join(cacheDir, "runtime", runtimeDirName(distRuntimeDir));
  if (existsSync(join(dir, "ready"))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const f of files) {
    mkdirSync(dirname(join(tmp, f)), { recursive: true });
    copyFileSync(join(distRuntimeDir, f), join(tmp, f));
    chmodSync(join(tmp, f), statSync(join(distRuntimeDir, f)).mode & 0o755);
  }
  writeStartupFiles(tmp, nodeKitDir);
  writeFileSync(join(tmp, "ready"), "");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

function listFiles(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, p));
    else out.push(p);
  }
  return out.sort();
}
