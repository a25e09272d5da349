import type { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { Container, type ContainerDeps, removeSandboxFiles } from "./container.js";
import { DEFAULT_LIMITS } from "./defaults.js";
import type { SandboxRecord } from "./registry.js";
import type { SnapshotBase } from "./records.js";
import { messageOf, report } from "../observability/channels.js";

/** Pool slots live beside sandboxes under names no sandbox can have (ids never start with "_"). */
const slotId = () => `_pool-${randomBytes(5).toString("hex")}`;

/** A warm-up request read to its end; a failure only means that path stays cold. */
const drained = (answer: Promise<Readable>): Promise<void> =>
  answer.then((r) => new Promise<void>((done) => r.on("end", () => done()).on("error", () => done()).resume()), () => {});

/**
 * How long after a claim the pool waits before starting a replacement. A
 * start keeps both cores busy for about 100 ms; the claimed sandbox's first
 * requests, which the pool exists to make fast, come in that time.
 */
const REFILL_DELAY_MS = 150;

/** A pool key that names a snapshot: its ready sandboxes stand on the snapshot's layers, for forks and restores of it. */
export const SNAPSHOT_POOL_PREFIX = "snapshot:";

/** The pool a new sandbox would come from: its snapshot's, when it stands on one, else its image's. */
const keyOf = (r: { image: string; layers: string[] }): string => (r.layers.length ? `${SNAPSHOT_POOL_PREFIX}${r.layers[0]}` : r.image);

const sameLayers = (a: string[] | undefined, b: string[]): boolean => !!a && a.length === b.length && a.every((l, i) => l === b[i]);

/**
 * Sandboxes started ahead of need, per image (or per snapshot, under the key
 * `snapshot:<id>`), so that creating one is a rename instead of a boot. A
 * claim takes a ready container and gives it the new sandbox's name; the pool
 * refills in the background, one at a time so refills never crowd out the
 * requests they exist to serve.
 */
export class WarmPool {
  private readonly ready = new Map<string, Container[]>();
  /** The image version and snapshot layers each ready container stands on: a claim must match what the new record pins. */
  private readonly versions = new WeakMap<Container, string>();
  private readonly layersOf = new WeakMap<Container, string[]>();
  private refilling: Promise<void> | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly deps: ContainerDeps,
    /** How many ready containers to keep per image (or `snapshot:<id>`). */
    private readonly sizes: Record<string, number>,
    /** A snapshot's layers and image, for `snapshot:<id>` keys (throws when there is no such snapshot). */
    private readonly snapshotBase: (sid: string) => SnapshotBase = (sid) => {
      throw new Error(`no snapshot store to find ${sid} in`);
    },
  ) {}

  start(): void {
    void this.refill();
  }

  /** Whether a create with these settings can come from the pool: its image, and no settings a boot would apply. */
  fits(record: SandboxRecord): boolean {
    const l = record.limits;
    const first = this.ready.get(keyOf(record))?.[0];
    return (
      first !== undefined &&
      this.versions.get(first) === record.imageVersion &&
      sameLayers(this.layersOf.get(first), record.layers) &&
      l.memoryMB === DEFAULT_LIMITS.memoryMB && l.cpus === DEFAULT_LIMITS.cpus && l.pids === DEFAULT_LIMITS.pids &&
      l.diskMB === this.deps.disk?.defaults().diskMB
    );
  }

  /** A running container now named for `record`, or undefined when none is ready. */
  async claim(record: SandboxRecord): Promise<Container | undefined> {
    this.dropStale(keyOf(record));
    if (!this.fits(record)) return undefined;
    const c = this.ready.get(keyOf(record))!.shift()!;
    this.refillSoon();
    try {
      await c.adopt(record);
      return c;
    } catch (err) {
      report("warn", "pool.claim_failed", `a pooled sandbox could not be claimed, starting a fresh one: ${messageOf(err)}`, { image: record.image });
      await c.stop().catch(() => {});
      await removeSandboxFiles(this.deps.sandboxesDir, record.id).catch(() => {});
      // The range goes back whether or not it had moved to the record.
      for (const owner of [record.id, c.containerId]) this.deps.uids?.release(owner);
      record.uidBase = undefined;
      return undefined;
    }
  }

  size(key: string): number {
    return this.ready.get(key)?.length ?? 0;
  }

  /** The layers each ready container stands on, by its slot id: a snapshot under one is in use. */
  layersInUse(): [string, string[]][] {
    return [...this.ready.values()].flat().flatMap((c) => {
      const layers = this.layersOf.get(c);
      return layers?.length ? [[c.containerId, layers] as [string, string[]]] : [];
    });
  }

  /** Stop the ready containers that stand on snapshot `sid` (it is being deleted); its key is not refilled while it is gone. */
  async releaseSnapshot(sid: string): Promise<void> {
    const dropped: Container[] = [];
    const take = () => {
      for (const list of this.ready.values())
        for (const c of [...list]) if (this.layersOf.get(c)?.includes(sid)) dropped.push(...list.splice(list.indexOf(c), 1));
    };
    take();
    // A refill running now may stand one more on the snapshot: let it finish, then take what it made too.
    await this.refilling;
    take();
    await Promise.all(dropped.map((c) => this.discard(c, c.containerId)));
  }

  /** Refill after REFILL_DELAY_MS: once, however many claims come meanwhile. */
  private refillSoon(): void {
    if (this.refillTimer || this.closed) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      void this.refill();
    }, REFILL_DELAY_MS);
    this.refillTimer.unref();
  }

  private refill(): Promise<void> {
    if (this.refilling || this.closed) return this.refilling ?? Promise.resolve();
    this.refilling = this.fill().finally(() => (this.refilling = undefined));
    return this.refilling;
  }

  /** What a ready container for `key` stands on: an image's current version, or a snapshot's layers and version. */
  private baseOf(key: string): { image: string; imageVersion: string; layers: string[] } | undefined {
    const sid = key.startsWith(SNAPSHOT_POOL_PREFIX) ? key.slice(SNAPSHOT_POOL_PREFIX.length) : undefined;
    try {
      if (sid === undefined) return { image: key, imageVersion: this.deps.imageVersion(key), layers: [] };
      const base = this.snapshotBase(sid);
      return { image: base.image, imageVersion: this.deps.imageVersion(base.image, base.imageVersion), layers: base.layers };
    } catch (err) {
      if (sid === undefined) report("warn", "pool.no_image", `no ${key} image for the pool: ${messageOf(err)}`, { image: key });
      else report("warn", "pool.no_snapshot", `no snapshot ${sid} for the pool: ${messageOf(err)}`, { snapshot: sid });
      return undefined;
    }
  }

  private async fill(): Promise<void> {
    for (const [key, want] of Object.entries(this.sizes)) {
      const list = this.ready.get(key) ?? [];
      this.ready.set(key, list);
      while (!this.closed && list.length < want) {
        const id = slotId();
        const now = new Date().toISOString();
        const base = this.baseOf(key);
        if (!base) break;
        const { image, imageVersion, layers } = base;
        const record: SandboxRecord = {
          id, image, imageVersion, env: {}, sleepAfter: 0, keepAlive: false, limits: { ...DEFAULT_LIMITS, ...this.deps.disk?.defaults() } as SandboxRecord["limits"],
          labels: {}, createdAt: now, lastActiveAt: now, layers, persist: "disk", egress: {},
        };
        const c = new Container(record, this.deps);
        try {
          await c.start();
        } catch (err) {
          await removeSandboxFiles(this.deps.sandboxesDir, id).catch(() => {});
          this.deps.uids?.release(id);
          report("warn", "pool.start_failed", `could not pre-start a ${image} sandbox for the pool: ${messageOf(err)}`, { image });
          break;
        }
        // A new runtime's first command compiles its exec path (about 10 ms): pay that here, not in the claimed sandbox's first request.
        // Twice: the first may come before the runtime's spawner is ready; then once streamed (SDKs that follow output use that path).
        // A command leaves nothing behind that the sandbox would show.
        for (let i = 0; i < 2; i++) await c.client.json("POST", "/exec", { argv: ["/bin/true"] }).catch(() => {});
        await drained(c.client.send("POST", "/exec?stream=1", { argv: ["/bin/true"], cwd: "/" }));
        // A background process, started and followed as E2B's commands are, kept out of the sandbox's process list.
        await drained(c.client.send("POST", "/processes", { command: "true", argv: ["/bin/true"], cwd: "/", follow: true, unlisted: true }));
        // And the file calls a session starts with (the SDK providers make their root and look for bash).
        await c.client.json("GET", "/files/exists?path=%2F").catch(() => {});
        await c.client.json("POST", "/files/mkdir", { path: "/tmp", recursive: true }).catch(() => {});
        if (this.closed) {
          await this.discard(c, id);
          break;
        }
        c.readyForAdoption();
        this.versions.set(c, record.imageVersion);
        this.layersOf.set(c, layers);
        list.push(c);
      }
    }
  }

  /** Ready containers on a version the image has since moved on from would never be claimed: stop them and fill again. */
  private dropStale(key: string): void {
    const list = this.ready.get(key);
    // A snapshot never changes (one that is deleted releases its containers first).
    if (!list?.length || key.startsWith(SNAPSHOT_POOL_PREFIX)) return;
    let current: string;
    try {
      current = this.deps.imageVersion(key);
    } catch {
      return;
    }
    const stale = list.filter((c) => this.versions.get(c) !== current);
    if (!stale.length) return;
    // In place: a refill running now holds this same list.
    for (const c of stale) list.splice(list.indexOf(c), 1);
    for (const c of stale) void this.discard(c, c.containerId);
    this.refillSoon();
  }

  private async discard(c: Container, id: string): Promise<void> {
    await c.stop().catch(() => {});
    await removeSandboxFiles(this.deps.sandboxesDir, id).catch(() => {});
    this.deps.uids?.release(id);
  }

  /** Stop and remove every ready container. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refillTimer);
    // A container starting now would outlive the server (and its data directory) if not waited for.
    await this.refilling;
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.all(all.map((c) => this.discard(c, c.containerId)));
  }
}
