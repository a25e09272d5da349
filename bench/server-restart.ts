import { spawnSync } from "node:child_process";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { startTestServer } from "../test/helpers/server.js";
import { median, ms, report } from "./stats.js";

const COUNTER = new URL("./fixtures/counter-agents.ts", import.meta.url).pathname;

/** `node -e ''` from spawn to exit: the floor under any server start. */
function nodeFloor(runs: number): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    spawnSync(process.execPath, ["-e", ""]);
    t.push(performance.now() - s);
  }
  return median(t);
}

/**
 * Server stop and start with nothing running (SIGTERM to exit; spawn to
 * /healthz), and a restart of a server hosting the example Counter agent
 * (bench/fixtures/counter-agents.ts), timed from the SIGTERM
 * until a client that reconnects reads the state an agent persisted before it.
 */
export async function benchServerRestart(opts: { runs: number }): Promise<void> {
  console.log("\n## Server stop and start");
  const floor = nodeFloor(opts.runs);
  const srv = await startTestServer({ args: ["--agents", COUNTER] });
  try {
    const stops: number[] = [];
    const starts: number[] = [];
    const answers: number[] = [];
    const client = (name: string) => new AgentClient({ agent: "Counter", name, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never } as never);
    for (let i = 0; i < opts.runs; i++) {
      // An agent with state, live when the server stops.
      const name = `restart-${i}`;
      const before = client(name);
      await before.ready;
      const value = (await before.call("increment", [i + 1])) as unknown;
      const t0 = performance.now();
      await srv.stop();
      const stopped = performance.now();
      await srv.restart();
      const healthy = performance.now();
      const after = client(name);
      await after.ready;
      const read = (await after.call("get")) as unknown;
      const answered = performance.now();
      after.close();
      before.close();
      if (JSON.stringify(read) !== JSON.stringify(value)) throw new Error(`agent ${name} answered ${JSON.stringify(read)} after the restart, not ${JSON.stringify(value)}`);
      stops.push(stopped - t0);
      starts.push(healthy - stopped);
      answers.push(answered - t0);
    }
    const stop = median(stops);
    const start = median(starts);
    const answer = median(answers);
    report(`server stop, SIGTERM -> exit (agents live, no sandboxes), p50 of ${opts.runs}`, ms(stop), "<= 300 ms", "", stop <= 300);
    report(`server start, spawn -> /healthz, p50 of ${opts.runs}`, `${ms(start)} (floor: node -e '' ${ms(floor)}, x${(start / floor).toFixed(1)})`, "<= 300 ms", "", start <= 300);
    report(`restart -> an agent answers with its persisted state (SIGTERM -> RPC answered), p50 of ${opts.runs}`, `${ms(answer)} (floor: stop + start ${ms(stop + start)})`, "<= 500 ms", "", answer <= 500);
  } finally {
    await srv.cleanup();
  }
}
