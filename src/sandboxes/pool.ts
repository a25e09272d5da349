import type { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { Container, type ContainerDeps, removeSandboxFiles } from "./container.js";
import { DEFAULT_LIMITS } from "./defaults.js";
import type { SandboxRecord } from "./registry.js";
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

/**
 * Sandboxes started ahead of need, per image, so that creating one is a
 * rename instead of a boot. A claim takes a ready container and gives it the
 * new sandbox's name; the pool refills in the background, one at a time so
 * refills never crowd out the requests they exist to serve.
 */
export class WarmPool {
  private readonly ready = new Map<string, Container[]>();
  /** The image version each ready container stands on: a claim must match the version the new record pins. */
  private readonly versions = new WeakMap<Container, string>();
  private refilling: Promise<void> | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly deps: ContainerDeps,
    /** How many ready containers to keep per image. */
    private readonly sizes: Record<string, number>,
  ) {}

  start(): void {
    void this.refill();
  }

  /** Whether a create with these settings can come from the pool: its image, and no settings a boot would apply. */
  fits(record: SandboxRecord): boolean {
    const l = record.limits;
    return (
      (this.ready.get(record.image)?.length ?? 0) > 0 &&
      this.versions.get(this.ready.get(record.image)![0]!) === record.imageVersion &&
      record.layers.length === 0 &&
      l.memoryMB === DEFAULT_LIMITS.memoryMB && l.cpus === DEFAULT_LIMITS.cpus && l.pids === DEFAULT_LIMITS.pids &&
      l.diskMB === this.deps.disk?.defaults().diskMB
    );
  }

  /** A running container now named for `record`, or undefined when none is ready. */
  async claim(record: SandboxRecord): Promise<Container | undefined> {
    this.dropStale(record.image);
    if (!this.fits(record)) return undefined;
    const c = this.ready.get(record.image)!.shift()!;
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

  size(image: string): number {
    return this.ready.get(image)?.length ?? 0;
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

  private async fill(): Promise<void> {
    for (const [image, want] of Object.entries(this.sizes)) {
      const list = this.ready.get(image) ?? [];
      this.ready.set(image, list);
      while (!this.closed && list.length < want) {
        const id = slotId();
        const now = new Date().toISOString();
        let imageVersion: string;
        try {
          imageVersion = this.deps.imageVersion(image);
        } catch (err) {
          report("warn", "pool.no_image", `no ${image} image for the pool: ${messageOf(err)}`, { image });
          break;
        }
        const record: SandboxRecord = {
          id, image, imageVersion, env: {}, sleepAfter: 0, keepAlive: false, limits: { ...DEFAULT_LIMITS, ...this.deps.disk?.defaults() } as SandboxRecord["limits"],
          labels: {}, createdAt: now, lastActiveAt: now, layers: [], persist: "disk", egress: {},
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
        list.push(c);
      }
    }
  }

  /** Ready containers on a version the image has since moved on from would never be claimed: stop them and fill again. */
  private dropStale(image: string): void {
    const list = this.ready.get(image);
    if (!list?.length) return;
    let current: string;
    try {
      current = this.deps.imageVersion(image);
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
