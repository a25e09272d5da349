import { existsSync } from "node:fs";
import { channels, publish, report } from "../observability/channels.js";
import { tracer } from "../observability/tracing.js";
import { BurrowError, type EgressSettings, type EnsureSandboxBody, type SandboxCrash, type SandboxInfo } from "../contract/index.js";
import { backoffRefusal } from "./crash-policy.js";
import { Container, type ContainerDeps, removeSandboxFiles, sandboxPaths } from "./container.js";
import { detachRunning, flushActivity, holdLive, type Live, liveEntry, sandboxInfo, stopStale } from "./live.js";
import { reattachSurvivors } from "./reattach.js";
import { removeCgroups, removeLeftovers } from "./leftovers.js";
import { diskViewOf } from "./disk-view.js";
import { DiskQuota, type DiskLimitsStatus } from "./disk-quota.js";
import { KeyedLock } from "./locks.js";
import { WarmPool } from "./pool.js";
import type { Registry } from "./registry.js";
import type { DiskView, ManagerOptions, SnapshotHooks } from "./manager-types.js";
import { applyToRecord, newRecord, type SnapshotBase } from "./records.js";
import { Supervisor } from "./supervisor.js";
import { sweepIdle } from "./idle-sweep.js";
import { SandboxPorts } from "./ports.js";
import { checkSandboxTrust, pushTrust, reportedTrust } from "./trust.js";
import type { RuntimeClient } from "./runtime-client.js";

export type { DiskView, ManagerOptions, SnapshotHooks } from "./manager-types.js";

/**
 * The sandbox lifecycle: absent -> running <-> sleeping -> destroyed.
 * Transitions for one name are serialised, so concurrent requests never start
 * two containers; requests for a running sandbox skip the lock entirely.
 */
export class SandboxManager {
  private readonly live = new Map<string, Live>();
  private readonly lock = new KeyedLock();
  private sweeper: NodeJS.Timeout | undefined;
  private snapshots: SnapshotHooks | undefined;
  private readonly pool: WarmPool;
  private readonly destroyListeners: ((id: string) => void)[] = [];
  private readonly supervisor: Supervisor;
  private closing = false;
  /** Sandboxes found at start whose container ended while no server watched it (live restore). */
  private readonly diedAway = new Map<string, Pick<SandboxCrash, "kind" | "reason">>();
  /** Preview-URL ports, kept in the registry beside each sandbox. */
  readonly ports: SandboxPorts;

  constructor(
    private readonly registry: Registry,
    private readonly deps: ContainerDeps,
    private readonly options: ManagerOptions,
  ) {
    this.pool = new WarmPool(deps, options.pool, (sid) => this.resolveSnapshot(sid));
    this.supervisor = new Supervisor(this.lock, () => this.flushActivity());
    this.ports = new SandboxPorts(this, registry);
  }

  useSnapshots(hooks: SnapshotHooks): void {
    this.snapshots = hooks;
    this.onDestroyed((id) => hooks.onDestroyed(id));
  }

  /** Run `listener` after a sandbox is destroyed (to drop what other domains keep for it). */
  onDestroyed(listener: (id: string) => void): void {
    this.destroyListeners.push(listener);
  }

  /**
   * Live restore, then load every sandbox: containers a previous server
   * process left running are re-attached (see `restore`); everything else a
   * stop or a crash left (containers, mounts, cgroups, run directories) is
   * removed, and those sandboxes are sleeping.
   */
  async init(): Promise<void> {
    const records = this.registry.all();
    const t0 = performance.now();
    const adopted = await reattachSurvivors(this.deps, records, this.diedAway);
    const restoreMs = performance.now() - t0;
    const known = new Set<string>();
    for (const record of records) {
      known.add(record.id);
      const e = liveEntry(record);
      const c = adopted.get(record.id);
      if (c) {
        e.container = c;
        e.startedAt = c.startedAt;
        e.outdated = c.outdatedProtocol;
        this.supervisor.watch(e, c);
      }
      const died = this.diedAway.get(record.id);
      if (died) this.supervisor.recordCrash(e, died);
      this.live.set(record.id, e);
    }
    this.diedAway.clear();
    await removeLeftovers(this.deps, adopted, known);
    if (adopted.size)
      report("info", "live_restore", `live restore: ${adopted.size} running sandbox${adopted.size === 1 ? "" : "es"} re-attached in ${restoreMs.toFixed(0)} ms`, { sandboxes: adopted.size, durationMs: Math.round(restoreMs) });
    this.sweeper = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.sweeper.unref();
    this.pool.start();
  }

  /** Whether disk limits are enforced here (GET /v1/status). */
  diskLimits(): DiskLimitsStatus {
    return (this.deps.disk ?? DiskQuota.off()).status();
  }

  /** Ready containers waiting in the pool for this image (or `snapshot:<id>`). */
  pooled(image = this.options.defaultImage): number {
    return this.pool.size(image);
  }

  /** Every pool the server keeps (images and `snapshot:<id>`): how many are ready of how many wanted. */
  pools(): Record<string, { ready: number; size: number }> {
    return Object.fromEntries(Object.entries(this.options.pool).map(([key, size]) => [key, { ready: this.pool.size(key), size }]));
  }

  /** PUT: create with options, or wake; returns whether it was created. */
  async ensure(id: string, body: EnsureSandboxBody = {}): Promise<{ info: SandboxInfo; created: boolean; warning?: string }> {
    (this.deps.disk ?? DiskQuota.off()).check(body.limits);
    // Checked before anything happens: a bundle that does not parse changes nothing and creates nothing.
    const trust = body.trust ? checkSandboxTrust(body.trust) : undefined;
    return this.lock.run(id, async () => {
      const existing = this.live.get(id);
      if (existing) {
        const r = existing.record;
        const warning = applyToRecord(r, body, !!existing.container, this.deps);
        this.registry.put(r);
        await this.startLocked(existing);
        if (trust) {
          await this.applyTrust(existing, trust);
          this.registry.put(r);
        }
        this.touch(id);
        return { info: sandboxInfo(existing), created: false, ...(warning ? { warning } : {}) };
      }
      const base = body.fromSnapshot ? this.resolveSnapshot(body.fromSnapshot) : undefined;
      const record = newRecord(id, body, base, this.options.defaultImage, this.deps);
      const entry = liveEntry(record, Date.now());
      try {
        await this.startLocked(entry, true);
        if (trust) await this.applyTrust(entry, trust);
        // A fork's disk holds its snapshot's CAs: what GET shows comes from its runtime.
        else if (base) record.trust = { extraCaCerts: await reportedTrust(entry.container!.client).catch(() => []) };
      } catch (err) {
        await this.stopLocked(entry).catch(() => {});
        await removeSandboxFiles(this.deps.sandboxesDir, id).catch(() => {});
        this.deps.uids?.release(id);
        throw err;
      }
      // Only a sandbox that really started is recorded.
      this.registry.put(record);
      this.live.set(id, entry);
      return { info: sandboxInfo(entry), created: true };
    });
  }

  /** The runtime of a sandbox, waking or creating it as needed. The hot path. */
  async runtime(id: string): Promise<RuntimeClient> {
    const e = this.live.get(id);
    if (e?.container && !this.lock.isHeld(id)) {
      // A socket that is gone cannot come back by itself: heal now (the ensure below waits for it) rather than fail this request.
      if (existsSync(e.container.client.socketPath)) {
        e.lastActive = Date.now();
        return e.container.client;
      }
      this.supervisor.heal(e, e.container, "is gone", true);
    }
    await this.ensure(id);
    return this.live.get(id)!.container!.client;
  }

  get(id: string): SandboxInfo {
    const e = this.live.get(id);
    if (!e) throw notFound(id);
    return sandboxInfo(e);
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  list(): SandboxInfo[] {
    return [...this.live.values()].map((e) => sandboxInfo(e));
  }

  touch(id: string): void {
    const e = this.live.get(id);
    if (e) e.lastActive = Date.now();
  }

  /**
   * The crash that ended a stream just now: the one recorded in the last
   * second, or the next one within `waitMs` (the socket can close a moment
   * before the exit is reported). Undefined if the sandbox did not crash.
   */
  recentCrash(id: string, waitMs = 1000): Promise<SandboxCrash | undefined> {
    const e = this.live.get(id);
    return e ? this.supervisor.recent(e, waitMs) : Promise.resolve(undefined);
  }

  /** Keep a sandbox awake until the returned function is called (streams, terminals). */
  hold(id: string): () => void {
    const e = this.live.get(id);
    return e ? holdLive(e) : () => {};
  }

  /** Sleep now; `persist` overrides the sandbox's own setting for this once. */
  async sleep(id: string, persist?: "disk" | "snapshot"): Promise<SandboxInfo> {
    return this.lock.run(id, async () => {
      const e = this.live.get(id);
      if (!e) throw notFound(id);
      await this.sleepLocked(e, persist);
      e.crashed = false; // asked to sleep: it is sleeping now, whatever happened before
      return sandboxInfo(e);
    });
  }

  /**
   * Run `fn` with the sandbox's disk held still: a running sandbox is paused
   * (its processes frozen, so nothing writes) and resumed after; a sleeping
   * one stays asleep. Nothing else happens to the sandbox meanwhile.
   */
  async withDisk<T>(id: string, fn: (disk: DiskView) => Promise<T>): Promise<T> {
    return this.lock.run(id, async () => {
      const e = this.live.get(id);
      if (!e) throw notFound(id);
      const c = e.container;
      if (c) await c.pause();
      try {
        return await fn(this.diskView(e));
      } finally {
        if (c) await c.resume();
        e.lastActive = Date.now();
      }
    });
  }

  /** A sandbox's own egress settings (undefined for an unknown name). */
  egressSettings(id: string): EgressSettings | undefined {
    return this.live.get(id)?.record.egress;
  }

  /** Change egress settings: the fields given replace the ones kept; kept across sleep and restart. */
  async setEgress(id: string, body: EgressSettings): Promise<void> {
    if (!this.live.has(id)) await this.ensure(id);
    const e = this.live.get(id)!;
    e.record.egress = { ...e.record.egress, ...body };
    this.registry.put(e.record);
  }

  /** A sandbox's own CAs, on its disk (see pushTrust); the registry keeps their fingerprints for GET. */
  private async applyTrust(e: Live, trust: ReturnType<typeof checkSandboxTrust>): Promise<void> {
    await pushTrust(() => e.container!.client, trust, async () => {
      await this.stopLocked(e);
      await this.startLocked(e);
    });
    e.record.trust = { extraCaCerts: trust.certificates };
  }

  /** The snapshot layers each sandbox stands on (which snapshots are still stood on); with `pooled`, the pool's ready ones too, by slot id. */
  layersInUse(opts: { pooled: boolean } = { pooled: true }): Map<string, string[]> {
    const live = [...this.live.values()].map((e) => [e.record.id, e.record.layers] as [string, string[]]);
    return new Map(opts.pooled ? [...live, ...this.pool.layersInUse()] : live);
  }

  /** Before snapshot `sid` is deleted: the pool's ready sandboxes on it go (no one asked for them by name). */
  releasePooled(sid: string): Promise<void> {
    return this.pool.releaseSnapshot(sid);
  }

  async destroy(id: string): Promise<void> {
    await this.lock.run(id, async () => {
      const e = this.live.get(id);
      if (!e) throw notFound(id);
      await this.stopLocked(e);
      // The disk goes first: if it cannot be removed, the sandbox stays listed and the destroy can be retried.
      await removeSandboxFiles(this.deps.sandboxesDir, id).catch((err: Error) => {
        throw new BurrowError("INTERNAL", `could not remove the disk of sandbox ${id}: ${err.message}`);
      });
      this.registry.delete(id);
      this.live.delete(id);
      this.deps.uids?.release(id);
    });
    for (const l of this.destroyListeners) l(id);
    publish(channels.sandboxLifecycle, () => ({ id, event: "destroy" }));
  }

  /** Change the sandbox-wide environment (null unsets): kept in the registry, applied live to new commands. */
  async setEnv(id: string, changes: Record<string, string | null>): Promise<SandboxInfo> {
    const rt = await this.runtime(id);
    const e = this.live.get(id)!;
    const env = { ...e.record.env };
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete env[k];
      else env[k] = v;
    }
    await rt.json("POST", "/env", { env: changes });
    e.record.env = env;
    this.registry.put(e.record);
    return sandboxInfo(e);
  }

  /**
   * Server shutdown. With `keepRunning` (the default stop) running sandboxes
   * are left running for the next server process to re-attach; their runtime
   * connections and egress listeners close with this one. Otherwise every
   * running sandbox is put to sleep. Returns how many were left running.
   */
  async shutdown(opts: { keepRunning?: boolean } = {}): Promise<number> {
    this.closing = true;
    clearInterval(this.sweeper);
    await this.pool.close();
    this.flushActivity();
    // Creates and wakes already under way finish first, so the stops below see their containers.
    await this.lock.idle();
    const kept = opts.keepRunning ? detachRunning(this.live.values()) : new Set<string>();
    if (!opts.keepRunning) await Promise.all([...this.live.values()].map((e) => this.lock.run(e.record.id, () => this.stopLocked(e)).catch(() => {})));
    this.supervisor.close();
    // Whatever else is known to runc (a start that failed half-way, say) goes: a stopped server leaves no container it does not own.
    for (const id of await this.deps.runc.list())
      if (!kept.has(id)) await this.deps.runc.delete(id).catch((err: Error) => report("error", "container.remove_failed", `could not remove container ${id}: ${err.message}`, { container: id }));
    if (!kept.size) removeCgroups(this.deps);
    return kept.size;
  }

  /** Start a sandbox's container; a new sandbox takes a ready one from the pool when it can. */
  private async startLocked(e: Live, fresh = false): Promise<void> {
    if (e.container) return;
    if (this.closing) throw new BurrowError("SANDBOX_START_FAILED", `sandbox ${e.record.id} was not started: the server is shutting down`);
    await stopStale(e);
    if (e.crashed) {
      const refusal = backoffRefusal(e.record.id, e.crash);
      if (refusal) throw refusal;
    }
    const t0 = performance.now();
    // A child of the request that waits for this start, when it said so (tracer.awaitingStart).
    const { c, kind } = await tracer.child(tracer.startParent(e.record.id), "sandbox.start", { sandbox: e.record.id }, async (span) => {
      const pooled = fresh ? await this.pool.claim(e.record) : undefined;
      const kind = pooled ? "pool" : !fresh ? "wake" : e.record.layers.length ? "restore" : "cold";
      span.setAttribute("sandbox.start_kind", kind);
      const c = pooled ?? new Container(e.record, this.deps);
      if (!pooled) await c.start();
      return { c, kind };
    });
    e.container = c;
    e.crashed = false;
    e.startedAt = e.lastActive = Date.now();
    this.supervisor.watch(e, c);
    publish(channels.sandboxStart, () => ({ id: e.record.id, kind, durationMs: performance.now() - t0 }));
    publish(channels.sandboxLifecycle, () => ({ id: e.record.id, event: fresh ? "create" : "wake", detail: kind }));
  }

  /** Stop; then freeze the disk into a snapshot if asked now, or if the sandbox persists that way and ran since. */
  private async sleepLocked(e: Live, persist?: "disk" | "snapshot"): Promise<void> {
    const wasRunning = !!e.container;
    await this.stopLocked(e);
    if (wasRunning) publish(channels.sandboxLifecycle, () => ({ id: e.record.id, event: "sleep", detail: persist }));
    const freeze = persist ? persist === "snapshot" : wasRunning && e.record.persist === "snapshot";
    if (freeze && this.snapshots) await this.snapshots.onSleep(this.diskView(e));
  }

  private diskView(e: Live): DiskView {
    return diskViewOf(e, sandboxPaths(this.deps.sandboxesDir, e.record.id), () => this.registry.put(e.record));
  }

  private resolveSnapshot(snapshotId: string): SnapshotBase {
    if (!this.snapshots) throw new BurrowError("SNAPSHOT_NOT_FOUND", `no snapshot ${snapshotId}: this server has no snapshot store`);
    return this.snapshots.resolve(snapshotId);
  }

  private async stopLocked(e: Live): Promise<void> {
    await stopStale(e);
    const c = e.container;
    if (!c) return;
    e.container = undefined;
    e.unwatch?.();
    e.unwatch = undefined;
    await c.stop();
    this.flushActivity();
  }

  private flushActivity(): void {
    flushActivity(this.live.values(), this.registry);
  }

  private async sweep(): Promise<void> {
    this.flushActivity();
    await sweepIdle(this.live.values(), this.lock, (e) => this.sleepLocked(e));
  }
}

const notFound = (id: string) => new BurrowError("SANDBOX_NOT_FOUND", `no sandbox named ${id}; create it with PUT /v1/sandboxes/${id}`, { id });
