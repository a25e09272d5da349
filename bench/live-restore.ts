import { startTestServer } from "../test/helpers/server.js";
import { median, ms, percentile, report } from "./stats.js";

const uid = () => Math.random().toString(36).slice(2, 8);

/**
 * Live restore: a server restart (SIGTERM, then kill -9) with `sandboxes`
 * running, each with a background process. Measured: the server's start
 * (spawn to /healthz), the re-attach step alone (from its log), and from
 * /healthz until each sandbox has answered an exec; and how many processes
 * the restart interrupted (a changed pid or a process no longer running).
 */
export async function benchLiveRestore(opts: { sandboxes: number }): Promise<void> {
  console.log(`\n## Live restore (${opts.sandboxes} running sandboxes)`);
  const srv = await startTestServer({ env: { BURROW_SWEEP_MS: "5000" } });
  try {
    const boxes = Array.from({ length: opts.sandboxes }, () => srv.burrow.sandbox(`lr-${uid()}`));
    const pids = new Map<string, number>();
    for (const b of boxes) pids.set(b.id, (await b.startProcess("sleep 100000", { processId: "job" })).pid!);
    // The same execs on a server that has run a while: what the figures after a restart compare with.
    const t = performance.now();
    const warm = await Promise.all(boxes.map(async (b) => (await b.exec(["/bin/true"]), performance.now() - t)));
    report(`${opts.sandboxes} concurrent execs, one per sandbox, on a warm server, p50 / max`, `${ms(median(warm))} / ${ms(percentile(warm, 100))}`, "-");
    for (const how of ["SIGTERM", "kill -9"] as const) {
      const logFrom = srv.log.length;
      const stopAt = performance.now();
      if (how === "SIGTERM") await srv.stop();
      else await srv.kill9();
      const t0 = performance.now();
      if (how === "SIGTERM") report(`server stop (SIGTERM -> exit) with ${opts.sandboxes} running`, ms(t0 - stopAt), "<= 300 ms", "", t0 - stopAt <= 300);
      await srv.restart();
      const up = performance.now();
      const answered = await Promise.all(
        boxes.map(async (b) => {
          await b.exec(["/bin/true"]);
          return performance.now() - up;
        }),
      );
      let interrupted = 0;
      for (const b of boxes) {
        const p = await b.getProcess("job");
        if (p.pid !== pids.get(b.id) || p.status !== "running") interrupted++;
      }
      const reattach = /re-attached in (\d+) ms/.exec(srv.log.slice(logFrom))?.[1];
      report(`restart (${how}) with ${opts.sandboxes} running: server start, spawn -> /healthz`, ms(up - t0), "<= 300 ms", "", up - t0 <= 300);
      report(`restart (${how}): re-attaching ${opts.sandboxes} sandboxes (server log)`, reattach ? `${reattach} ms` : "?", "-");
      const p50 = median(answered);
      const max = percentile(answered, 100);
      report(`restart (${how}): /healthz -> each sandbox answers an exec, p50 / max`, `${ms(p50)} / ${ms(max)}`, "<= 300 ms", "", max <= 300);
      report(`restart (${how}): processes interrupted`, String(interrupted), "0", "", interrupted === 0);
    }
  } finally {
    await srv.cleanup();
  }
}
