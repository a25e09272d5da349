import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { removeTree, SANDBOX_ID_OFFSET } from "../confine/index.js";
import { channels, publish } from "../observability/channels.js";
import { tracer } from "../observability/tracing.js";
import { BurrowError, durationSeconds, type EgressSettings, type EnsureSandboxBody, type SandboxCrash, type SandboxInfo } from "../contract/index.js";
import { removeCgroupTree } from "./cgroups.js";
import { backoffRefusal } from "./crash-policy.js";
import { CrashLog } from "./crash-log.js";
import { ExitWatcher } from "./exit-watcher.js";
import { Container, type ContainerDeps, removeSandboxFiles, sandboxPaths } from "./container.js";
import { type Live, sandboxInfo } from "./live.js";
import { reattachSurvivors } from "./reattach.js";
import { DEFAULT_LIMITS, DEFAULT_SLEEP_AFTER_S } from "./defaults.js";
import { DiskQuota, type DiskLimitsStatus } from "./disk-quota.js";
import { KeyedLock } from "./locks.js";
import { removeCgroupsExcept } from "./live-restore.js";
import { WarmPool } from "./pool.js";
import { planImageMove } from "./image-move.js";
import { mountsUnder, unmount } from "./overlay.js";
import type { Registry, SandboxRecord } from "./registry.js";
import { SandboxPorts } from "./ports.js";
import { checkSandboxTrust, reportedTrust } from "./trust.js";
import type { RuntimeClient } from "./runtime-client.js";


export interface ManagerOptions {
  defaultImage: string;
  sweepIntervalMs: number;
  /** Ready containers to keep per image (the warm pool); empty for none. */
  pool: Record<string, number>;
}

/** A sandbox's disk, handed out while nothing can write it (see `withDisk`). */
export interface DiskView {
  readonly id: string;
  readonly image: string;
  readonly imageVersion: string;
  /** Snapshot layers under the upper layer, top first. */
  readonly layers: string[];
  readonly upper: string;
  /** The first host id of the sandbox's own range, which its upper layer is owned in. */
  readonly uidBase: number;
  readonly running: boolean;
  /** Stand the sandbox on other layers with a fresh, empty upper layer (only while it is not running). */
  rebase(layers: string[], replaceUpper: (upper: string) => Promise<void>): Promise<void>;
}

/** What the snapshot domain plugs in: where a snapshot's layers are, and what to do as a sandbox sleeps or goes. */
export interface SnapshotHooks {
  /** The layers (top first) and image a new sandbox stands on when created from this snapshot. */
  resolve(snapshotId: string): { layers: string[]; image: string; imageVersion?: string };
  /** Freeze the disk of a sandbox that just went to sleep with persist "snapshot". */
  onSleep(disk: DiskView): Promise<void>;
  onDestroyed(id: string): void;
}

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
  /** Tells us within milliseconds when a container's init ends without being asked (pidfds, no polling). */
  private readonly exits = new ExitWatcher();
  private closing = false;
  private readonly crashes = new CrashLog();
  /** Sandboxes found at start whose container ended while no server watched it (live restore). */
  private readonly diedAway = new Map<string, Pick<SandboxCrash, "kind" | "reason">>();
  /** Preview-URL ports, kept in the registry beside each sandbox. */
  readonly ports: SandboxPorts;

  constructor(
    private readonly registry: Registry,
    private readonly deps: ContainerDeps,
    private readonly options: ManagerOptions,
  ) {
    this.pool = new WarmPool(deps, options.pool);
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
    const keep = new Set([...adopted.values()].map((c) => c.containerId));
    const left = removeCgroupsExcept(this.deps.cgroupParent.replace(/^\//, ""), keep);
    if (left.length) console.error(`burrow: cgroups still in use, left in place: ${left.join(", ")}`);
    const keepMounts = new Set([...adopted.keys()].map((id) => sandboxPaths(this.deps.sandboxesDir, id).rootfs));
    for (const mp of mountsUnder(this.deps.sandboxesDir).reverse()) if (!keepMounts.has(mp)) await unmount(mp);
    const runRoot = dirname(sandboxPaths(this.deps.sandboxesDir, "x").run);
    if (existsSync(runRoot)) for (const n of readdirSync(runRoot)) if (!adopted.has(n)) await removeTree(join(runRoot, n)).catch(() => {});
    const known = new Set<string>();
    for (const record of records) {
      known.add(record.id);
      const t = Date.parse(record.lastActiveAt);
      const e: Live = { record, holds: 0, lastActive: t, flushedActive: t, startedAt: 0 };
      const c = adopted.get(record.id);
      if (c) {
        e.container = c;
        e.startedAt = c.startedAt;
        e.outdated = c.outdatedProtocol;
        this.supervise(e, c);
      }
      const died = this.diedAway.get(record.id);
      if (died) this.recordCrash(e, died);
      this.live.set(record.id, e);
    }
    this.diedAway.clear();
    // A directory without a registry row is a create or destroy that did not finish.
    if (existsSync(this.deps.sandboxesDir))
      for (const name of readdirSync(this.deps.sandboxesDir))
        if (!known.has(name))
          await removeSandboxFiles(this.deps.sandboxesDir, name).catch((err: Error) =>
            console.error(`burrow: could not remove ${name}, left by an unfinished create or destroy: ${err.message}`),
          );
    if (adopted.size) console.log(`burrow: live restore: ${adopted.size} running sandbox${adopted.size === 1 ? "" : "es"} re-attached in ${restoreMs.toFixed(0)} ms`);
    this.sweeper = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.sweeper.unref();
    this.pool.start();
  }


  /** Whether disk limits are enforced here (GET /v1/status). */
  diskLimits(): DiskLimitsStatus {
    return (this.deps.disk ?? DiskQuota.off()).status();
  }

  /** Ready containers waiting in the pool for this image. */
  pooled(image = this.options.defaultImage): number {
    return this.pool.size(image);
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
        if (body.fromSnapshot)
          throw new BurrowError("SANDBOX_EXISTS", `sandbox ${id} already exists; restore snapshot ${body.fromSnapshot} under a new name, or destroy ${id} first`, { id });
        if (body.persist) r.persist = body.persist;
        const move = planImageMove(r, body, !!existing.container, {
          current: (image) => this.deps.imageVersion(image),
          check: (image, version) => void this.deps.imageRootfs(image, version),
        });
        if (move) [r.image, r.imageVersion] = [move.image, move.imageVersion];
        if (body.sleepAfter !== undefined) r.sleepAfter = durationSeconds(body.sleepAfter);
        if (body.keepAlive !== undefined) r.keepAlive = body.keepAlive;
        if (body.labels) r.labels = body.labels;
        if (body.env) r.env = { ...r.env, ...body.env };
        if (body.limits) r.limits = { ...r.limits, ...body.limits } as SandboxRecord["limits"];
        this.registry.put(r);
        await this.startLocked(existing);
        if (trust) {
          await this.applyTrust(existing, trust);
          this.registry.put(r);
        }
        this.touch(id);
        return { info: sandboxInfo(existing), created: false, ...(move ? { warning: move.warning } : {}) };
      }
      const now = new Date().toISOString();
      const base = body.fromSnapshot ? this.resolveSnapshot(body.fromSnapshot) : undefined;
      if (base && body.image && body.image !== base.image)
        throw new BurrowError("BAD_REQUEST", `snapshot ${body.fromSnapshot} was taken on image ${base.image}; leave image out or pass that one`);
      const image = base?.image ?? body.image ?? this.options.defaultImage;
      const record: SandboxRecord = {
        id,
        image,
        // A fork stands on its snapshot's version; anything new on the image's current one.
        imageVersion: body.imageVersion && body.imageVersion !== "latest" && !base ? body.imageVersion : this.deps.imageVersion(image, base?.imageVersion),
        env: body.env ?? {},
        sleepAfter: body.sleepAfter !== undefined ? durationSeconds(body.sleepAfter) : DEFAULT_SLEEP_AFTER_S,
        keepAlive: body.keepAlive ?? false,
        limits: { ...DEFAULT_LIMITS, ...this.deps.disk?.defaults(), ...(body.limits ?? {}) } as SandboxRecord["limits"],
        labels: body.labels ?? {},
        createdAt: now,
        lastActiveAt: now,
        layers: base?.layers ?? [],
        persist: body.persist ?? "disk",
        egress: {},
      };
      this.deps.imageRootfs(record.image, record.imageVersion); // refuse an unknown image before touching the disk
      const entry: Live = { record, holds: 0, lastActive: Date.now(), flushedActive: Date.now(), startedAt: 0 };
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
      this.heal(e, e.container, "is gone", true);
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
    return e ? this.crashes.recent(e, waitMs) : Promise.resolve(undefined);
  }

  /** Keep a sandbox awake until the returned function is called (streams, terminals). */
  hold(id: string): () => void {
    const e = this.live.get(id);
    if (!e) return () => {};
    e.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      e.holds--;
      e.lastActive = Date.now();
    };
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

  /**
   * A sandbox's own CAs go onto its own disk through its runtime (the host
   * never writes into a sandbox's tree), which rebuilds its bundles at once;
   * the registry keeps their fingerprints for GET.
   */
  private async applyTrust(e: Live, trust: ReturnType<typeof checkSandboxTrust>): Promise<void> {
    const put = () => e.container!.client.json("PUT", "/trust", { extraCaCerts: trust.pem });
    try {
      await put();
    } catch (err) {
      // A runtime from before this route (re-attached after an upgrade): restart it on the current one, disk intact.
      if ((err as BurrowError).code !== "NOT_FOUND") throw err;
      await this.stopLocked(e);
      await this.startLocked(e);
      await put();
    }
    e.record.trust = { extraCaCerts: trust.certificates };
  }

  /** Every sandbox's layers, to know which snapshots are still stood on. */
  layersInUse(): Map<string, string[]> {
    return new Map([...this.live.values()].map((e) => [e.record.id, e.record.layers]));
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
    const kept = new Set<string>();
    if (opts.keepRunning) {
      for (const e of this.live.values()) {
        const c = e.container;
        if (!c) continue;
        e.unwatch?.();
        e.unwatch = undefined;
        c.detach();
        kept.add(c.containerId);
      }
    } else await Promise.all([...this.live.values()].map((e) => this.lock.run(e.record.id, () => this.stopLocked(e)).catch(() => {})));
    this.exits.close();
    // Whatever else is known to runc (a start that failed half-way, say) goes: a stopped server leaves no container it does not own.
    for (const id of await this.deps.runc.list())
      if (!kept.has(id)) await this.deps.runc.delete(id).catch((err: Error) => console.error(`burrow: could not remove container ${id}: ${err.message}`));
    if (!kept.size) this.removeCgroups();
    return kept.size;
  }

  private removeCgroups(): void {
    const left = removeCgroupTree(this.deps.cgroupParent);
    if (left.length) console.error(`burrow: cgroups still in use, left in place: ${left.join(", ")}`);
  }

  /** Start a sandbox's container; a new sandbox takes a ready one from the pool when it can. */
  private async startLocked(e: Live, fresh = false): Promise<void> {
    if (e.container) return;
    if (this.closing) throw new BurrowError("SANDBOX_START_FAILED", `sandbox ${e.record.id} was not started: the server is shutting down`);
    if (e.stale) {
      await e.stale.stop();
      e.stale = undefined;
    }
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
    this.supervise(e, c);
    publish(channels.sandboxStart, () => ({ id: e.record.id, kind, durationMs: performance.now() - t0 }));
    publish(channels.sandboxLifecycle, () => ({ id: e.record.id, event: fresh ? "create" : "wake", detail: kind }));
  }

  /** Watch a running container: its init ending, or its socket failing, when nobody asked, is a crash. */
  private supervise(e: Live, c: Container): void {
    e.unwatch = this.exits.watch(c.pid, () => this.onExit(e, c));
    c.client.onUnreachable = (err) => this.heal(e, c, err.code === "ENOENT" ? "is gone" : "refuses connections", err.code === "ENOENT");
  }

  /** The container's init ended. Runs as the exit is reported: requests stop using the container at once. */
  private onExit(e: Live, c: Container): void {
    if (e.container !== c) return; // asked to stop
    e.container = undefined;
    e.unwatch = undefined;
    this.recordCrash(e, c.exitCause());
    void this.lock.run(e.record.id, () => this.cleanUp(e, c));
  }

  /**
   * The runtime's socket failed while its container lives (a crash of the
   * runtime is reported by the exit watcher first; this catches a socket that
   * went away or stopped answering). Stop the container: the next request
   * restarts it, disk intact.
   */
  private heal(e: Live, c: Container, what: string, certain: boolean): void {
    if (e.container !== c || e.healing) return;
    e.healing = true;
    void this.lock.run(e.record.id, async () => {
      try {
        if (!certain) {
          // A runtime that just died is the exit watcher's to report, with its real cause.
          await delay(200);
          if (e.container !== c) return;
          const answers = await Promise.race([c.client.json("GET", "/health").then(() => true, () => false), delay(2000).then(() => false)]);
          if (answers) return;
        }
        if (e.container !== c) return;
        e.unwatch?.();
        e.unwatch = undefined;
        e.container = undefined;
        this.recordCrash(e, { kind: "unreachable", reason: `the runtime's socket ${what}; the sandbox was stopped so that it restarts` });
        await this.cleanUp(e, c);
      } finally {
        e.healing = false;
      }
    });
  }

  private recordCrash(e: Live, cause: Pick<SandboxCrash, "kind" | "reason">): void {
    this.crashes.record(e, cause);
  }


  /** Remove what a crashed container left (its container, mounts, cgroups); keep it for a retry if that fails. */
  private async cleanUp(e: Live, c: Container): Promise<void> {
    try {
      await c.stop();
      this.flushActivity();
    } catch (err) {
      e.stale = c;
      console.error(`burrow: could not clean up after sandbox ${e.record.id} crashed (retried before it starts again): ${(err as Error).message}`);
    }
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
    const paths = sandboxPaths(this.deps.sandboxesDir, e.record.id);
    return {
      id: e.record.id,
      image: e.record.image,
      imageVersion: e.record.imageVersion,
      layers: [...e.record.layers],
      upper: paths.upper,
      uidBase: e.record.uidBase ?? SANDBOX_ID_OFFSET,
      running: !!e.container,
      rebase: async (layers, replaceUpper) => {
        if (e.container) throw new Error("rebase needs a stopped sandbox");
        await replaceUpper(paths.upper);
        await removeTree(paths.work);
        e.record.layers = layers;
        this.registry.put(e.record);
      },
    };
  }

  private resolveSnapshot(snapshotId: string): { layers: string[]; image: string; imageVersion?: string } {
    if (!this.snapshots) throw new BurrowError("SNAPSHOT_NOT_FOUND", `no snapshot ${snapshotId}: this server has no snapshot store`);
    return this.snapshots.resolve(snapshotId);
  }

  private async stopLocked(e: Live): Promise<void> {
    if (e.stale) {
      await e.stale.stop();
      e.stale = undefined;
    }
    const c = e.container;
    if (!c) return;
    e.container = undefined;
    e.unwatch?.();
    e.unwatch = undefined;
    await c.stop();
    this.flushActivity();
  }

  private flushActivity(): void {
    for (const e of this.live.values()) {
      if (e.lastActive !== e.flushedActive) {
        e.record.lastActiveAt = new Date(e.lastActive).toISOString();
        this.registry.touch(e.record.id, e.record.lastActiveAt);
        e.flushedActive = e.lastActive;
      }
    }
  }

  private async sweep(): Promise<void> {
    this.flushActivity();
    const now = Date.now();
    for (const e of this.live.values()) {
      // A runtime this server does not speak is restarted (slept; its next request wakes it on the current runtime) once nothing uses it for a moment.
      const idleFor = (e.outdated !== undefined ? OUTDATED_IDLE_S : e.record.sleepAfter) * 1000;
      if (!e.container || (e.record.keepAlive && e.outdated === undefined) || e.holds > 0) continue;
      if (now - e.lastActive < idleFor) continue;
      await this.lock
        .run(e.record.id, async () => {
          // Re-check under the lock: a request may have arrived meanwhile.
          if (e.holds > 0 || Date.now() - e.lastActive < idleFor) return;
          if (e.outdated !== undefined) console.error(`burrow: restarting sandbox ${e.record.id}, idle now, off its runtime of protocol ${e.outdated}`);
          e.outdated = undefined;
          await this.sleepLocked(e);
        })
        .catch((err) => console.error(`burrow: could not put ${e.record.id} to sleep:`, err));
    }
  }

}

/** How long a sandbox on a runtime this server does not speak must be idle before it is restarted. */
const OUTDATED_IDLE_S = 2;

const notFound = (id: string) => new BurrowError("SANDBOX_NOT_FOUND", `no sandbox named ${id}; create it with PUT /v1/sandboxes/${id}`, { id });
