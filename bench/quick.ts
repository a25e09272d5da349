import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { startTestServer } from "../test/helpers/server.js";
import { touch } from "./agents.js";
import { benchFiles } from "./files.js";
import { startFloor } from "./floor-process.js";
import { benchServerRestart } from "./server-restart.js";
import { wakeSamples } from "./sandbox-core.js";
import { median, ms, percentile, report, samples, time } from "./stats.js";

const uid = () => Math.random().toString(36).slice(2, 8);
const COUNTER = new URL("./fixtures/counter-agents.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `npm run bench -- --quick`: the figures that are cheap to take, with fewer
 * samples than the full run and the same targets, as a regression guard
 * (under two minutes). Not part of `npm test`: timings are not assertions.
 */
export async function benchQuick(): Promise<void> {
  console.log("\n## Quick: sandboxes");
  const srv = await startTestServer({ env: { BURROW_SWEEP_MS: "5000" } });
  try {
    const b = srv.burrow;
    await b.sandbox(`warm-${uid()}`).exec("true");
    const cold = await samples(8, () => b.sandbox(`cold-${uid()}`).exec(["/bin/true"]));
    report("cold create -> first exec done, p50 of 8", ms(median(cold)), "<= 100 ms", "", median(cold) <= 100);
    const wake = await wakeSamples(b, 5);
    report("wake from sleep -> first exec done, p50 of 5", ms(median(wake)), "<= 80 ms", "", median(wake) <= 80);
    const hot = b.sandbox(`hot-${uid()}`);
    for (let i = 0; i < 30; i++) await hot.exec(["/bin/true"]);
    const rt = await samples(500, () => hot.exec(["/bin/true"]));
    report("exec /bin/true through the HTTP API, p50 / p99 of 500", `${ms(median(rt))} / ${ms(percentile(rt, 99))}`, "<= 5 / 8 ms", "", median(rt) <= 5 && percentile(rt, 99) <= 8);
    const py = await hot.createCodeContext();
    const js = await hot.createCodeContext({ language: "javascript" });
    // The creates started spare interpreters (Python's ~0.4 s of CPU): measure once they are up.
    await new Promise((r) => setTimeout(r, 1500));
    for (const [lang, ctx, target] of [["python", py, 2.5], ["javascript", js, 1]] as const) {
      for (let i = 0; i < 20; i++) await hot.runCode("1+1", { context: ctx });
      const r = await samples(200, () => hot.runCode("1+1", { context: ctx }));
      report(`runCode("1+1") round trip, ${lang}, p50 of 200`, ms(median(r)), `<= ${target} ms`, "", median(r) <= target);
    }
    await benchFiles(srv);
  } finally {
    await srv.cleanup();
  }

  console.log("\n## Quick: warm pool");
  const pooled = await startTestServer({ env: { BURROW_SWEEP_MS: "5000", BURROW_POOL: "1" } });
  try {
    await pooled.burrow.sandbox(`warm-${uid()}`).exec("true");
    const claims: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(1000); // the pool refills between claims
      claims.push(await time(() => pooled.burrow.sandbox(`pool-${uid()}`).exec(["/bin/true"])));
    }
    report("warm pool create -> first exec, p50 of 5", ms(median(claims)), "<= 15 ms", "", median(claims) <= 15);
  } finally {
    await pooled.cleanup();
  }

  console.log("\n## Quick: agents");
  const agents = await startTestServer({ args: ["--agents", COUNTER] });
  const floor = await startFloor("ws");
  try {
    await touch(floor.port, 50, "warm");
    const floorPerSec = await touch(floor.port, 300, "touch");
    const perSec = await touch(agents.port, 300, "touch");
    report("agents touched (AgentClient), 300 names, 20 at a time", `${perSec.toFixed(0)}/s (floor ${floorPerSec.toFixed(0)}/s)`, ">= 1,000/s", "", perSec >= 1000);
    const c = new AgentClient({ agent: "Counter", name: "rpc", host: `127.0.0.1:${agents.port}`, WebSocket: WebSocket as never } as never);
    await c.ready;
    for (let i = 0; i < 100; i++) await c.call("get");
    const rtt = await samples(500, () => c.call("get"));
    c.close();
    report("agent RPC round trip (AgentClient), p50 / p99 of 500", `${ms(median(rtt))} / ${ms(percentile(rtt, 99))}`, "<= 0.1 / 1 ms", "", median(rtt) <= 0.1 && percentile(rtt, 99) <= 1);
  } finally {
    floor.stop();
    await agents.cleanup();
  }

  await benchServerRestart({ runs: 3 });
}
