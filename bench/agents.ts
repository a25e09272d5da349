import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { startTestServer } from "../test/helpers/server.js";
import { median, ms, percentile, report } from "./stats.js";
import { startFloor } from "./floor-process.js";

const FIXTURES = new URL("../test/fixtures/agents.ts", import.meta.url).pathname;

const open = (port: number, agent: string, name: string, onState?: () => void) => {
  const c = new AgentClient({ agent, name, host: `127.0.0.1:${port}`, WebSocket: WebSocket as never, onStateUpdate: onState } as never);
  return c.ready.then(() => c);
};

/** RSS of the server process, from /proc (MiB). */
async function serverRss(pid: number): Promise<number> {
  const { readFileSync } = await import("node:fs");
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

/** Connect, `ready`, one RPC, close: `n` names, 20 at a time; agents touched per second. */
export async function touch(port: number, n: number, prefix: string): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < n) {
        const i = next++;
        const c = await open(port, "Counter", `${prefix}-${i}`);
        await c.call("increment", [1]);
        c.close();
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** RPC round trips on one connection (after a warm-up), in ms. */
async function roundTrips(port: number, name: string): Promise<{ samples: number[]; client: AgentClient }> {
  const c = await open(port, "Counter", name);
  for (let i = 0; i < 200; i++) await c.call("get");
  const rtt: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await c.call("get");
    rtt.push(performance.now() - t);
  }
  return { samples: rtt, client: c };
}

/** BENCH_SERVER_NODE_OPTIONS (say `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the server under the bench. */
const serverNodeOptions = (): Record<string, string> => (process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {});

const x = (a: number, b: number) => `x${(a / b).toFixed(2)}`;

export async function benchAgents(opts: { touched: number }): Promise<void> {
  console.log("\n## Agents");
  const srv = await startTestServer({ args: ["--agents", FIXTURES], env: { BURROW_AGENT_IDLE_MS: "5000", ...serverNodeOptions() } });
  const floor = await startFloor("ws");
  try {
    const port = srv.port;
    const n = opts.touched;
    const rssStart = await serverRss(srv.child.pid!);
    const step = (s: string) => process.env.BENCH_TRACE && console.error(new Date().toISOString(), s);
    // The floor first, then Burrow, back to back: the machine's load is shared by both.
    await touch(floor.port, 100, "warm");
    const floorPerSec = await touch(floor.port, n, "touch");
    step("floor touched");
    const perSec = await touch(port, n, "touch");
    step("burrow touched");
    report(`agents touched (AgentClient: connect, ready, RPC setState, close), ${n} names, 20 at a time`, `${perSec.toFixed(0)}/s (floor ${floorPerSec.toFixed(0)}/s, ${x(perSec, floorPerSec)})`, ">= 1,000/s", "Cloudflare Agents SDK on local workerd: 86/s", perSec >= 1000);
    const rssAfter = await serverRss(srv.child.pid!);
    report(`server RSS after ${n} agents`, `${rssAfter.toFixed(0)} MB (at start ${rssStart.toFixed(0)} MB)`, "<= 150 MB", "workerd: 790 MB", rssAfter <= 150);
    // Idle timeout 5 s, then the sweep that closes them (every 5 s), and the next one, which gives back what the
    // garbage collector freed since: the heap trim after each (src/lib/heap-trim) is what the RSS shows.
    await new Promise((r) => setTimeout(r, 26_000));
    const rssEvicted = await serverRss(srv.child.pid!);
    report("server RSS after those agents were evicted", `${rssEvicted.toFixed(0)} MB (${x(rssEvicted, rssStart)} the start)`, "<= x1.2 the start", "", rssEvicted <= 1.2 * rssStart);

    // RPC round trip on one connection, the floor's beside it.
    step("evicted");
    const f = await roundTrips(floor.port, "rpc-bench");
    f.client.close();
    const { samples: rtt, client: c } = await roundTrips(port, "rpc-bench");
    report("agent RPC round trip (AgentClient), p50", `${ms(median(rtt))} (floor ${ms(median(f.samples))})`, "<= 0.1 ms", "workerd 0.8-1.0 ms", median(rtt) <= 0.1);
    report("agent RPC round trip (AgentClient), p99", `${ms(percentile(rtt, 99))} (floor ${ms(percentile(f.samples, 99))})`, "<= 1 ms", "workerd 4.9-6.8 ms", percentile(rtt, 99) <= 1);

    // State broadcast: one setState reaches 100 other clients.
    for (const clientsN of [50, 100]) {
      let arrivals = 0;
      let resolveAll: (() => void) | undefined;
      const viewers = await Promise.all(
        Array.from({ length: clientsN }, () =>
          open(port, "Counter", `bcast-${clientsN}`, () => {
            arrivals++;
            if (arrivals === clientsN && resolveAll) resolveAll();
          }),
        ),
      );
      const writer = await open(port, "Counter", `bcast-${clientsN}`);
      const lat: number[] = [];
      for (let i = 0; i < 50; i++) {
        arrivals = 0;
        const all = new Promise<void>((r) => (resolveAll = r));
        const t = performance.now();
        writer.setState({ count: i });
        await all;
        lat.push(performance.now() - t);
      }
      report(`state broadcast to ${clientsN} clients (all received), p50`, ms(median(lat)), clientsN === 50 ? "<= 1.5 ms" : "-", clientsN === 50 ? "workerd 3.5-4.1 ms" : "", clientsN === 50 ? median(lat) <= 1.5 : undefined);
      for (const v of viewers) v.close();
      writer.close();
    }
    c.close();
  } finally {
    floor.stop();
    await srv.cleanup();
  }
}
