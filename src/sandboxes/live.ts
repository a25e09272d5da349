import type { SandboxCrash, SandboxInfo } from "../contract/index.js";
import type { Container } from "./container.js";
import type { Registry, SandboxRecord } from "./registry.js";

/** What the manager keeps for each sandbox it knows: its record, and its container while it runs. */
export interface Live {
  record: SandboxRecord;
  container?: Container;
  /** Open streams, terminals and the like: while any is held the sandbox stays awake. */
  holds: number;
  lastActive: number;
  flushedActive: number;
  /** When its container last started (crashes soon after a start count as in a row). */
  startedAt: number;
  /** The last crash since the server started; `crashed` while it has not run since. */
  crash?: SandboxCrash;
  crashed?: boolean;
  /** Stops watching its container's init. */
  unwatch?: () => void;
  /** A crashed container whose cleanup failed: retried before the next start. */
  stale?: Container;
  healing?: boolean;
  /** Re-attached at start running a runtime protocol this server does not speak: restarted at its next idle moment. */
  outdated?: number;
}

/** The API's view of a sandbox. */
export function sandboxInfo(e: Live): SandboxInfo {
  const r = e.record;
  return {
    id: r.id,
    state: e.container ? "running" : e.crashed ? "crashed" : "sleeping",
    image: r.image,
    imageVersion: r.imageVersion,
    createdAt: r.createdAt,
    lastActiveAt: new Date(e.lastActive).toISOString(),
    sleepAfter: r.sleepAfter,
    keepAlive: r.keepAlive,
    limits: r.limits,
    labels: r.labels,
    env: r.env,
    persist: r.persist,
    baseSnapshot: r.layers[0] ?? null,
    crash: e.crash ?? null,
    trust: { extraCaCerts: r.trust?.extraCaCerts ?? [] },
  };
}

/** A new entry for a record: idle since its last recorded activity, not running. */
export function liveEntry(record: SandboxRecord, lastActive = Date.parse(record.lastActiveAt)): Live {
  return { record, holds: 0, lastActive, flushedActive: lastActive, startedAt: 0 };
}

/** Keep a sandbox awake until the returned function is called (once; later calls do nothing). */
export function holdLive(e: Live): () => void {
  e.holds++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    e.holds--;
    e.lastActive = Date.now();
  };
}

/** Write each entry's last activity to the registry where it moved since the last flush. */
export function flushActivity(entries: Iterable<Live>, registry: Registry): void {
  for (const e of entries) {
    if (e.lastActive === e.flushedActive) continue;
    e.record.lastActiveAt = new Date(e.lastActive).toISOString();
    registry.touch(e.record.id, e.record.lastActiveAt);
    e.flushedActive = e.lastActive;
  }
}

/** Stop a crashed container whose cleanup failed before, if the entry has one. */
export async function stopStale(e: Live): Promise<void> {
  if (!e.stale) return;
  await e.stale.stop();
  e.stale = undefined;
}

/** Leave the running containers running for the next server (live restore): stop watching them, keep their runc ids. */
export function detachRunning(entries: Iterable<Live>): Set<string> {
  const kept = new Set<string>();
  for (const e of entries) {
    const c = e.container;
    if (!c) continue;
    e.unwatch?.();
    e.unwatch = undefined;
    c.detach();
    kept.add(c.containerId);
  }
  return kept;
}
