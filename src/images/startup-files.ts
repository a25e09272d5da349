import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

/** The flags a sandbox's Node runs the runtime with; its code cache and startup snapshot are made with the same ones, or V8 refuses them. */
export const RUNTIME_NODE_FLAGS = ["--max-semi-space-size=1", "--max-old-space-size=96"];
/** The runtime's V8 startup snapshot in its directory, when one could be made (src/runtime/startup-snapshot.ts). */
export const RUNTIME_SNAPSHOT = "runtime.blob";

/** Where a sandbox sees the Node kit and the runtime (src/sandboxes/oci-spec.ts binds them there). */
const KIT = "/.burrow/node";
const RUNTIME = "/.burrow/runtime";

/*
 * $1 the empty directory to root the build in, $2 the Node kit, $3 the
 * runtime's directory; then the Node flags. Runs in a mount namespace of its
 * own (unshare), so every mount here ends with it.
 */
const BUILD = `
root=$1 kit=$2 dir=$3; shift 3
mount -t tmpfs -o mode=0755 burrow-startup "$root"
mkdir -p "$root${KIT}" "$root${RUNTIME}"
mount --bind "$kit" "$root${KIT}"
mount --bind "$dir" "$root${RUNTIME}"
node() { chroot "$root" ${KIT}/lib/ld-linux-x86-64.so.2 --library-path ${KIT}/lib ${KIT}/bin/node "$@"; }
node "$@" --snapshot-blob ${RUNTIME}/${RUNTIME_SNAPSHOT} --build-snapshot ${RUNTIME}/startup-snapshot.js
node "$@" --snapshot-blob ${RUNTIME}/${RUNTIME_SNAPSHOT} ${RUNTIME}/runtime.js --write-code-cache
`;

/**
 * Make what shortens a sandbox's start, in the runtime's directory: V8's
 * startup snapshot of the Node modules the runtime loads (RUNTIME_SNAPSHOT),
 * then the code cache of its bundle, written by the runtime's loader
 * (src/runtime/boot.ts) started from that snapshot, which also proves the
 * snapshot starts it. Only compiling happens: nothing of the runtime runs.
 *
 * Both are made as a sandbox will use them: by the kit's Node started the
 * way a sandbox starts it, in a root that holds only the kit and the runtime,
 * where a sandbox has them. Both files record paths (the scripts compiled, the
 * command line), and a sandbox can read them: these name only the sandbox's
 * own /.burrow, never the host's cache directory.
 *
 * Without them (no unshare or chroot, a Node that cannot build snapshots)
 * sandboxes still start, each paying for the missing part; the log says why.
 */
export function writeStartupFiles(dir: string, nodeKitDir: string): void {
  if (!existsSync(join(dir, "main.js")) || !existsSync(join(dir, "startup-snapshot.js"))) return;
  const root = mkdtempSync(join(dirname(dir), ".startup-"));
  try {
    execFileSync("unshare", ["--mount", "--propagation", "private", "sh", "-ec", BUILD, "sh", root, nodeKitDir, dir, ...RUNTIME_NODE_FLAGS], { stdio: "pipe", timeout: 120_000 });
    chmodSync(join(dir, RUNTIME_SNAPSHOT), 0o644);
    chmodSync(join(dir, "main.js.cache"), 0o644);
  } catch (err) {
    for (const f of [RUNTIME_SNAPSHOT, "main.js.cache"]) rmSync(join(dir, f), { force: true });
    console.error(`burrow: no startup snapshot or code cache for the runtime (each sandbox start loads and parses it all): ${firstLine(err)}`);
  } finally {
    // Not recursive: the mounts were the namespace's alone, so what is left here is an empty directory.
    rmdirSync(root);
  }
}

function firstLine(err: unknown): string {
  const e = err as Error & { stderr?: Buffer };
  const said = e.stderr?.toString().split("\n").find((l) => l.trim() && !/warning|may still work|issue tracker|trace-warnings/i.test(l));
  return said?.trim() ?? e.message;
}
