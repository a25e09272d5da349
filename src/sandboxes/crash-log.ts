import { existsSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import type { SandboxCrash } from "../contract/index.js";
import { nextCrash } from "./crash-policy.js";
import type { Live } from "./live.js";
import { report } from "../observability/channels.js";

/** Records sandboxes' crashes and hands them to whoever is waiting to learn why a stream ended. */
export class CrashLog {
  private readonly waiters = new Map<string, Set<(crash: SandboxCrash) => void>>();

  record(e: Live, cause: Pick<SandboxCrash, "kind" | "reason">): void {
    e.crash = nextCrash(e.crash, Date.now() - e.startedAt, cause);
    e.crashed = true;
    for (const w of this.waiters.get(e.record.id) ?? []) w(e.crash);
    const { count, restartAfter, reason } = e.crash;
    report(
      "warn",
      "sandbox.crash",
      `sandbox ${e.record.id} crashed: ${reason}. ` +
        (restartAfter ? `That is ${count} crashes in a row: it is not restarted before ${restartAfter}.` : "The next request restarts it, disk intact."),
      { sandbox: e.record.id, kind: e.crash.kind, reason, count, ...(restartAfter ? { restartAfter } : {}) },
    );
  }

  /**
   * The crash that ended a stream just now: the one recorded in the last
   * second, or the next one within `waitMs` (the socket can close a moment
   * before the exit is reported). Undefined if the sandbox did not crash.
   */
  async recent(e: Live, waitMs: number): Promise<SandboxCrash | undefined> {
    if (e.crashed && e.crash && Date.now() - Date.parse(e.crash.at) < 1000) return e.crash;
    if (e.container && existsSync(e.container.client.socketPath) && !e.healing) {
      const id = e.record.id;
      let waiter!: (c: SandboxCrash) => void;
      const got = new Promise<SandboxCrash>((r) => (waiter = r));
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set.add(waiter));
      try {
        return await Promise.race([got, delay(waitMs).then(() => undefined)]);
      } finally {
        set.delete(waiter);
        if (!set.size) this.waiters.delete(id);
      }
    }
    return e.crashed ? e.crash : undefined;
  }
}
