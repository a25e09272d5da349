import { setTimeout as delay } from "node:timers/promises";
import type { SandboxCrash } from "../contract/index.js";
import { Container, type ContainerDeps, sandboxPaths } from "./container.js";
import { matchSurvivors, protocolVerdict, runDirTrusted } from "./live-restore.js";
import type { SandboxRecord } from "./registry.js";
import { report } from "../observability/channels.js";

/**
 * Re-attach what still runs and belongs to a known sandbox: its init alive,
 * its runtime answering on its socket in a protocol this server speaks, its
 * egress socket listened on again. A paused one (a snapshot cut short) is
 * resumed first. Anything else in this server's runc state directory is
 * removed: warm-pool slots, containers no sandbox owns, and sandboxes whose
 * container stopped or whose runtime does not answer, which are recorded
 * as crashed and start again on their next request.
 */
export async function reattachSurvivors(deps: ContainerDeps, records: SandboxRecord[], diedAway: Map<string, Pick<SandboxCrash, "kind" | "reason">>): Promise<Map<string, Container>> {
  const adopted = new Map<string, Container>();
  const { survivors, orphans } = matchSurvivors(await deps.runc.states(), records, deps.sandboxesDir);
  for (const o of orphans) {
    report("info", "container.removed", `removing container ${o.id}: ${o.why}`, { container: o.id });
    await deps.runc.delete(o.id).catch((err: Error) => report("error", "container.remove_failed", `could not remove container ${o.id}: ${err.message}`, { container: o.id }));
  }
  await Promise.all(
    survivors.map(async ({ record, state }) => {
      const c = new Container(record, deps, state.id);
      try {
        if (state.status === "paused") await deps.runc.resume(state.id);
        else if (state.status !== "running") {
          const cause = c.exitCause();
          diedAway.set(record.id, { kind: cause.kind, reason: `${cause.reason} (while the server was away)` });
          throw new Error("it stopped while the server was away");
        }
        if (!runDirTrusted(sandboxPaths(deps.sandboxesDir, record.id).run)) throw new Error("its run directory is not the host's (a start cut short)");
        const health = await Promise.race([
          c.client.json<{ protocol?: number }>("GET", "/health"),
          delay(3000).then(() => Promise.reject(new Error("its runtime did not answer within 3 s"))),
        ]);
        const verdict = protocolVerdict(health);
        if (!verdict.speaks) {
          c.outdatedProtocol = verdict.protocol;
          report("warn", "sandbox.runtime_outdated", `sandbox ${record.id} runs a runtime of protocol ${verdict.protocol}, which this server does not speak; it is restarted, disk intact, at its next idle moment`, { sandbox: record.id, protocol: verdict.protocol });
        }
        await c.attach(state.pid, Date.parse(state.created) || Date.now());
        adopted.set(record.id, c);
      } catch (err) {
        if (!diedAway.has(record.id))
          diedAway.set(record.id, { kind: "unreachable", reason: `its runtime did not answer when the server started (${(err as Error).message})` });
        await c.stop().catch((e: Error) => report("error", "container.remove_failed", `could not remove the container of ${record.id}: ${e.message}`, { sandbox: record.id }));
      }
    }),
  );
  return adopted;
}
