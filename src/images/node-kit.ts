import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync, chmodSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createHash } from "node:crypto";

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

/**
 * The runtime bundle and init binary, copied into the cache under their
 * content hash, so sandboxes never depend on where the checkout lives (a
 * checkout under /root is not reachable from inside a user namespace).
 */
export function ensureRuntimeDir(cacheDir: string, distRuntimeDir: string): string {
  const js = readFileSync(join(distRuntimeDir, "runtime.js"));
  const init = readFileSync(join(distRuntimeDir, "init"));
  const hash = createHash("sha256").update(js).update(init).digest("hex").slice(0, 16);
  const dir = join(cacheDir, "runtime", hash);
  if (existsSync(join(dir, "ready"))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, "runtime.js"), js, { mode: 0o644 });
  writeFileSync(join(tmp, "init"), init, { mode: 0o755 });
  writeFileSync(join(tmp, "ready"), "");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
