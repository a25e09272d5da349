import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { removeTree } from "../confine/index.js";
import { removeCgroupTree } from "./cgroups.js";
import { type Container, type ContainerDeps, removeSandboxFiles, sandboxPaths } from "./container.js";
import { removeCgroupsExcept } from "./live-restore.js";
import { mountsUnder, unmount } from "./overlay.js";
import { report } from "../observability/channels.js";

/**
 * At start, after live restore: remove what a stop or a crash left behind and
 * no re-attached sandbox uses (cgroups, mounts, run directories), and the
 * directories of sandboxes without a registry row (a create or destroy that
 * did not finish).
 */
export async function removeLeftovers(deps: ContainerDeps, adopted: Map<string, Container>, known: Set<string>): Promise<void> {
  const keep = new Set([...adopted.values()].map((c) => c.containerId));
  const left = removeCgroupsExcept(deps.cgroupParent.replace(/^\//, ""), keep);
  if (left.length) report("warn", "cgroups.left", `cgroups still in use, left in place: ${left.join(", ")}`, { cgroups: left });
  const keepMounts = new Set([...adopted.keys()].map((id) => sandboxPaths(deps.sandboxesDir, id).rootfs));
  for (const mp of mountsUnder(deps.sandboxesDir).reverse()) if (!keepMounts.has(mp)) await unmount(mp);
  const runRoot = dirname(sandboxPaths(deps.sandboxesDir, "x").run);
  if (existsSync(runRoot)) for (const n of readdirSync(runRoot)) if (!adopted.has(n)) await removeTree(join(runRoot, n)).catch(() => {});
  if (existsSync(deps.sandboxesDir))
    for (const name of readdirSync(deps.sandboxesDir))
      if (!known.has(name))
        await removeSandboxFiles(deps.sandboxesDir, name).catch((err: Error) =>
          report("error", "sandbox.leftover_remove_failed", `could not remove ${name}, left by an unfinished create or destroy: ${err.message}`, { sandbox: name }),
        );
}

/** At a full stop: the server's cgroup tree goes, except what something still uses. */
export function removeCgroups(deps: ContainerDeps): void {
  const left = removeCgroupTree(deps.cgroupParent);
  if (left.length) report("warn", "cgroups.left", `cgroups still in use, left in place: ${left.join(", ")}`, { cgroups: left });
}
