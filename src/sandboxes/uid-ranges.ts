import { SANDBOX_ID_OFFSET, SANDBOX_ID_RANGE } from "../confine/index.js";
import { BurrowError } from "../contract/index.js";

/**
 * Host uids and gids for sandboxes: a pool of `count` ranges of 65,536
 * starting at `base`, one range per sandbox (and per warm-pool slot), so one
 * sandbox's files and processes are not another's on the host. Layers are
 * stored in the canonical range (SANDBOX_ID_OFFSET, 100000..165535), which is
 * no sandbox's: each sandbox sees them through an idmapped mount onto its own.
 */
export interface UidPool {
  base: number;
  count: number;
}

/** 16,384 ranges from 2^30: up to 2^31 - 1, clear of the canonical range and of the usual /etc/subuid allocations. */
export const DEFAULT_UID_POOL: UidPool = { base: 0x40000000, count: 16384 };

const MAX_ID = 0xfffffffe; // (uid_t)-1 means "no change" to chown

/** `--uid-ranges BASE:COUNT` (or BURROW_UID_RANGES); undefined gives the default. */
export function parseUidPool(spec: string | undefined): UidPool {
  if (spec === undefined || spec === "") return DEFAULT_UID_POOL;
  const m = /^(\d{1,10}):(\d{1,6})$/.exec(spec.trim());
  const fix = `pass BASE:COUNT, such as ${DEFAULT_UID_POOL.base}:${DEFAULT_UID_POOL.count} (COUNT ranges of ${SANDBOX_ID_RANGE} host ids from BASE)`;
  if (!m) throw new Error(`--uid-ranges is "${spec}"; ${fix}`);
  const base = Number(m[1]), count = Number(m[2]);
  const end = base + count * SANDBOX_ID_RANGE; // one past the last id
  if (count < 1) throw new Error(`--uid-ranges ${spec} has no ranges; ${fix}`);
  if (base < SANDBOX_ID_RANGE) throw new Error(`--uid-ranges ${spec} starts below ${SANDBOX_ID_RANGE}, among the host's own users; ${fix}`);
  if (end - 1 > MAX_ID) throw new Error(`--uid-ranges ${spec} ends past ${MAX_ID}, the last host id; use a lower BASE or fewer ranges`);
  if (base < SANDBOX_ID_OFFSET + SANDBOX_ID_RANGE && end > SANDBOX_ID_OFFSET)
    throw new Error(`--uid-ranges ${spec} overlaps ${SANDBOX_ID_OFFSET}..${SANDBOX_ID_OFFSET + SANDBOX_ID_RANGE - 1}, the range layers are stored in; start at ${SANDBOX_ID_OFFSET + SANDBOX_ID_RANGE} or above`);
  return { base, count };
}

/**
 * Which range each sandbox (or pool slot) holds. What is recorded is the
 * registry's (a sandbox's `uidBase`, read at start); ranges handed out since
 * are held here until they are recorded or released, so two creates at once
 * never get the same one.
 */
export class UidRanges {
  private readonly held = new Map<string, number>();
  private readonly taken = new Set<number>();

  constructor(
    readonly pool: UidPool,
    /** Ranges recorded for existing sandboxes; a base outside the pool (an older server's canonical range, a pool since changed) is kept by its owner, not handed out. */
    recorded: { id: string; uidBase?: number }[] = [],
  ) {
    for (const r of recorded) if (r.uidBase !== undefined) this.hold(r.id, r.uidBase);
  }

  /** The range `owner` holds, taking a free one if it holds none. */
  allocate(owner: string): number {
    const had = this.held.get(owner);
    if (had !== undefined) return had;
    for (let i = 0; i < this.pool.count; i++) {
      const base = this.pool.base + i * SANDBOX_ID_RANGE;
      if (this.taken.has(base)) continue;
      this.hold(owner, base);
      return base;
    }
    throw new BurrowError(
      "UID_RANGES_EXHAUSTED",
      `all ${this.pool.count} uid ranges of this server are held by sandboxes; destroy sandboxes you no longer need, or start the server with a larger --uid-ranges`,
    );
  }

  /** A pool slot became a sandbox: its range goes with it. */
  rename(from: string, to: string): void {
    const base = this.held.get(from);
    if (base === undefined) return;
    this.held.delete(from);
    this.held.set(to, base);
  }

  /** The owner's disk is gone: its range is free again. */
  release(owner: string): void {
    const base = this.held.get(owner);
    if (base === undefined) return;
    this.held.delete(owner);
    if (![...this.held.values()].includes(base)) this.taken.delete(base);
  }

  /** How many ranges are held (for tests and metrics). */
  get inUse(): number {
    return this.taken.size;
  }

  private hold(owner: string, base: number): void {
    this.held.set(owner, base);
    this.taken.add(base);
  }
}
