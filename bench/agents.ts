import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { startTestServer } from "../test/helpers/server.js";
import { median, ms, percentile, report } from "./stats.js";

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

export async function benchAgents(opts: { touched: number }): Promise<void> {
  console.log("\n## Agents");
  const srv = await startTestServer({ args: ["--agents", FIXTURES], env: { BURROW_AGENT_IDLE_MS: "5000" } });
  try {
    const port = srv.port;
    // Agents touched: connect a client, one RPC that sets state, close; 20 at a time.
    const n = opts.touched;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < n) {
          const i = next++;
          const c = await open(port, "Counter", `touch-${i}`);
          await c.call("increment", [1]);
          c.close();
        }
      }),
    );
    const perSec = n / ((performance.now() - t0) / 1000);
    report(`agents touched (connect, RPC setState, close), ${n} names, 20 at a time`, `${perSec.toFixed(0)}/s`, ">= 1,000/s", "Cloudflare Agents SDK on local workerd: 86/s", perSec >= 1000);
    const rssAfter = await serverRss(srv.child.pid!);
    report(`server memory after ${n} agents`, `${rssAfter.toFixed(0)} MB`, "<= 150 MB", "workerd: 790 MB", rssAfter <= 150);
    await new Promise((r) => setTimeout(r, 16_000)); // idle timeout 5 s + sweep
    report("server memory after those agents were evicted", `${(await serverRss(srv.child.pid!)).toFixed(0)} MB`, "-");

    // RPC round trip on one connection.
    const c = await open(port, "Counter", "rpc-bench");
    for (let i = 0; i < 200; i++) await c.call("get");
    const rtt: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await c.call("get");
      rtt.push(performance.now() - t);
    }
    report("agent RPC round trip over WebSocket, p50", ms(median(rtt)), "<= 0.4 ms", "workerd 0.8-1.0 ms", median(rtt) <= 0.4);
    report("agent RPC round trip over WebSocket, p99", ms(percentile(rtt, 99)), "<= 2 ms", "workerd 4.9-6.8 ms", percentile(rtt, 99) <= 2);

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
    await srv.cleanup();
  }
}
