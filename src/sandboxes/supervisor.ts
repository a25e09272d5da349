import { setTimeout as delay } from "node:timers/promises";
import type { SandboxCrash } from "../contract/index.js";
import type { Container } from "./container.js";
import { CrashLog } from "./crash-log.js";
import { ExitWatcher } from "./exit-watcher.js";
import type { Live } from "./live.js";
import type { KeyedLock } from "./locks.js";
import { messageOf, report } from "../observability/channels.js";

/**
 * Watches running containers: an init that ends, or a runtime socket that
 * fails, when nobody asked, is a crash. The container is then stopped and
 * cleaned up under the sandbox's lock, and the next request restarts it,
 * disk intact (crash-policy.ts decides when repeated crashes wait).
 */
export class Supervisor {
  /** Tells within milliseconds when a container's init ends without being asked (pidfds, no polling). */
  private readonly exits = new ExitWatcher();
  private readonly crashes = new CrashLog();

  constructor(
    private readonly lock: KeyedLock,
    /** Called after a crashed container is stopped (the manager writes activity times then). */
    private readonly afterStop: () => void,
  ) {}

  watch(e: Live, c: Container): void {
    e.unwatch = this.exits.watch(c.pid, () => this.onExit(e, c));
    c.client.onUnreachable = (err) => this.heal(e, c, err.code === "ENOENT" ? "is gone" : "refuses connections", err.code === "ENOENT");
  }

  recordCrash(e: Live, cause: Pick<SandboxCrash, "kind" | "reason">): void {
    this.crashes.record(e, cause);
  }

  /** The crash that ended a stream just now, if it was one (see CrashLog.recent). */
  recent(e: Live, waitMs: number): Promise<SandboxCrash | undefined> {
    return this.crashes.recent(e, waitMs);
  }

  /**
   * The runtime's socket failed while its container lives (a crash of the
   * runtime is reported by the exit watcher first; this catches a socket that
   * went away or stopped answering). Stop the container: the next request
   * restarts it, disk intact. `certain`: no need to ask the runtime first.
   */
  heal(e: Live, c: Container, what: string, certain: boolean): void {
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

  close(): void {
    this.exits.close();
  }

  /** The container's init ended. Runs as the exit is reported: requests stop using the container at once. */
  private onExit(e: Live, c: Container): void {
    if (e.container !== c) return; // asked to stop
    e.container = undefined;
    e.unwatch = undefined;
    this.recordCrash(e, c.exitCause());
    void this.lock.run(e.record.id, () => this.cleanUp(e, c));
  }

  /** Remove what a crashed container left (its container, mounts, cgroups); keep it for a retry if that fails. */
  private async cleanUp(e: Live, c: Container): Promise<void> {
    try {
      await c.stop();
      this.afterStop();
    } catch (err) {
      e.stale = c;
      report("error", "sandbox.cleanup_failed", `could not clean up after sandbox ${e.record.id} crashed (retried before it starts again): ${messageOf(err)}`, { sandbox: e.record.id });
    }
  }
}
