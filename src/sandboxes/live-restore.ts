import { lstatSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { RUNTIME_PROTOCOL, RUNTIME_PROTOCOL_MIN } from "../contract/runtime-protocol.js";
import { cgroupRoots, removeCgroupTree } from "./cgroups.js";
import { CONTAINER_ID_FILE } from "./container.js";
import type { RuncState } from "./runc.js";
import type { SandboxRecord } from "./registry.js";

/** A container a previous server process left, matched with the sandbox it belongs to. */
export interface Survivor {
  record: SandboxRecord;
  state: RuncState;
}

/**
 * Match the containers in this server's runc state directory with its
 * registry. A sandbox's directory names its container (`container-id`, which
 * moves with the directory when a pool slot is claimed); a directory from a
 * build that did not write it is matched by its name, then by its init's pid
 * file. Whatever matches no sandbox (warm-pool slots, a create that did not
 * finish) is returned as `orphans`, with the reason it is removed.
 */
export function matchSurvivors(states: RuncState[], records: SandboxRecord[], sandboxesDir: string): { survivors: Survivor[]; orphans: { id: string; why: string }[] } {
  const byId = new Map(states.map((s) => [s.id, s]));
  const byPid = new Map(states.filter((s) => s.pid > 0).map((s) => [s.pid, s]));
  const claimed = new Set<string>();
  const survivors: Survivor[] = [];
  for (const record of records) {
    const dir = join(sandboxesDir, record.id);
    const named = read(join(dir, CONTAINER_ID_FILE));
    const pid = Number(read(join(dir, "pid")) ?? 0);
    const state = (named !== undefined ? byId.get(named) : byId.get(record.id) ?? (pid ? byPid.get(pid) : undefined));
    if (!state || claimed.has(state.id)) continue;
    claimed.add(state.id);
    survivors.push({ record, state });
  }
  const orphans = states
    .filter((s) => !claimed.has(s.id))
    .map((s) => ({ id: s.id, why: s.id.startsWith("_pool-") ? "a warm-pool slot (the pool is filled again)" : "no sandbox of this data directory owns it (a create that did not finish)" }));
  return { survivors, orphans };
}

/** What a runtime said at adoption decides whether this server re-attaches it as it is, or restarts it at an idle moment. */
export function protocolVerdict(health: { protocol?: unknown }): { protocol: number; speaks: boolean } {
  const protocol = typeof health.protocol === "number" ? health.protocol : 1;
  return { protocol, speaks: protocol >= RUNTIME_PROTOCOL_MIN && protocol <= RUNTIME_PROTOCOL };
}

/**
 * Whether a run directory is the host's alone, as a start leaves it once the
 * runtime has made its socket. One still owned by the sandbox (a start cut
 * short) could hold a socket or link the sandbox put there: such a container
 * is not re-attached.
 */
export function runDirTrusted(runDir: string): boolean {
  try {
    const d = lstatSync(runDir);
    const sock = lstatSync(join(runDir, "runtime.sock"));
    return d.isDirectory() && d.uid === 0 && (d.mode & 0o022) === 0 && sock.isSocket();
  } catch {
    return false;
  }
}

/** Remove this server's sandbox cgroups except those of containers it re-attached; returns those it could not remove. */
export function removeCgroupsExcept(parent: string, keep: Set<string>): string[] {
  const left: string[] = [];
  const names = new Set<string>();
  for (const h of cgroupRoots()) {
    try {
      for (const e of readdirSync(join(h.root, parent), { withFileTypes: true })) if (e.isDirectory()) names.add(e.name);
    } catch {
      /* no such hierarchy entry */
    }
  }
  for (const n of names) if (!keep.has(n)) left.push(...removeCgroupTree(`${parent}/${n}`));
  // The parent goes too when nothing is left under it.
  if (!keep.size)
    for (const h of cgroupRoots())
      try {
        rmdirSync(join(h.root, parent));
      } catch {
        /* absent, or still in use */
      }
  return left;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
