import type { Live } from "./live.js";
import type { KeyedLock } from "./locks.js";
import { messageOf, report } from "../observability/channels.js";

/** How long a sandbox on a runtime this server does not speak must be idle before it is restarted. */
const OUTDATED_IDLE_S = 2;

/**
 * Put to sleep every running sandbox idle past its `sleepAfter` that nothing
 * holds (and is not kept alive). A runtime this server does not speak is
 * restarted the same way (slept; its next request wakes it on the current
 * runtime) once nothing uses it for a moment.
 */
export async function sweepIdle(entries: Iterable<Live>, lock: KeyedLock, sleep: (e: Live) => Promise<void>): Promise<void> {
  const now = Date.now();
  for (const e of entries) {
    const idleFor = (e.outdated !== undefined ? OUTDATED_IDLE_S : e.record.sleepAfter) * 1000;
    if (!e.container || (e.record.keepAlive && e.outdated === undefined) || e.holds > 0) continue;
    if (now - e.lastActive < idleFor) continue;
    await lock
      .run(e.record.id, async () => {
        // Re-check under the lock: a request may have arrived meanwhile.
        if (e.holds > 0 || Date.now() - e.lastActive < idleFor) return;
        if (e.outdated !== undefined) report("info", "sandbox.runtime_upgrade", `restarting sandbox ${e.record.id}, idle now, off its runtime of protocol ${e.outdated}`, { sandbox: e.record.id, protocol: e.outdated });
        e.outdated = undefined;
        await sleep(e);
      })
      .catch((err) => report("error", "sandbox.sleep_failed", `could not put ${e.record.id} to sleep: ${messageOf(err)}`, { sandbox: e.record.id }));
  }
}
