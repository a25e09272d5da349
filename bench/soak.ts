/**
 * `npm run soak -- --minutes N`: a mixed load against one server for N
 * minutes (exec, files, processes, terminals, agents, sleep and wake), one
 * line a minute with errors, latency percentiles, the server's RSS and open
 * file descriptors. Fails (exit 1) on any error, or when RSS or descriptors
 * keep growing (the last minute more than 1.5x the second one). Not part of
 * `npm test`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { name, startTestServer } from "../test/helpers/server.js";
import { percentile } from "./stats.js";

const { values } = parseArgs({ options: { minutes: { type: "string", default: "5" }, workers: { type: "string", default: "6" } } });
const minutes = Number(values.minutes);
const workers = Number(values.workers);
if (!(minutes > 0) || !(workers > 0)) throw new Error("usage: npm run soak -- --minutes N [--workers W]");

const FIXTURES = new URL("../test/fixtures/agents.ts", import.meta.url).pathname;
const srv = await startTestServer({ args: ["--agents", FIXTURES], env: { BURROW_SWEEP_MS: "1000" } });
const pid = srv.child.pid!;
const rssMB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const fds = () => readdirSync(`/proc/${pid}/fd`).length;

type Op = (w: number, i: number) => Promise<unknown>;
const boxes = Array.from({ length: workers }, (_, w) => name(`soak${w}`));
const ops: Record<string, Op> = {
  exec: (w) => srv.burrow.sandbox(boxes[w]!).exec("echo $((6 * 7))").then((r) => r.stdout === "42\n" || fail(`exec answered ${r.stdout}`)),
  files: async (w, i) => {
    const sbx = srv.burrow.sandbox(boxes[w]!);
    const body = `soak ${w} ${i}\n`.repeat(100);
    await sbx.writeFile(`/workspace/f${i % 20}`, body);
    if ((await sbx.readFile(`/workspace/f${i % 20}`)).content !== body) fail("a file read back differently");
  },
  process: async (w) => {
    const p = await srv.burrow.sandbox(boxes[w]!).startProcess("sh -c 'echo ready; sleep 0.2'");
    await p.waitForLog("ready", 10_000);
    await p.waitForExit(10_000);
  },
  terminal: async (w) => {
    const t = await srv.burrow.sandbox(boxes[w]!).terminal({ cols: 80, rows: 24 });
    let seen = "";
    const got = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the terminal did not echo within 10 s")), 10_000);
      t.onData((d) => {
        seen += d;
        if (seen.includes("soak-term-ok")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    t.write("echo soak-term-$((1))ok | tr 1 -\r");
    t.write("echo soak-term-ok\r");
    await got;
    t.close();
  },
  agent: async (w, i) => {
    const c = new AgentClient({ agent: "Recorder", name: `soak-${w}-${i % 5}`, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never } as never);
    try {
      await c.ready;
      await c.call("addNote", [`n${i}`]);
    } finally {
      c.close();
    }
  },
  sleepWake: async (w) => {
    const sbx = srv.burrow.sandbox(boxes[w]!);
    await sbx.sleep();
    await sbx.exec("true");
  },
};
const weights: [string, number][] = [["exec", 30], ["files", 25], ["process", 10], ["terminal", 8], ["agent", 20], ["sleepWake", 2]];
const pick = () => {
  let r = Math.random() * 95;
  for (const [op, wt] of weights) if ((r -= wt) < 0) return op;
  return "exec";
};

function fail(msg: string): never {
  throw new Error(msg);
}

const errors: string[] = [];
let lat: Record<string, number[]> = {};
const minutesOut: { rss: number; fds: number }[] = [];
const end = Date.now() + minutes * 60_000;
console.log(`soak: ${workers} workers for ${minutes} min against ${srv.url}; start RSS ${rssMB().toFixed(0)} MB, ${fds()} fds`);
const report = setInterval(() => {
  const row = { rss: rssMB(), fds: fds() };
  minutesOut.push(row);
  const parts = Object.entries(lat).map(([op, s]) => `${op} p50 ${percentile(s, 50).toFixed(1)} p99 ${percentile(s, 99).toFixed(1)} ms (${s.length})`);
  console.log(`minute ${minutesOut.length}: errors ${errors.length}; RSS ${row.rss.toFixed(0)} MB; fds ${row.fds}; ${parts.join("; ")}`);
  lat = {};
}, 60_000);

await Promise.all(
  boxes.map(async (_, w) => {
    for (let i = 0; Date.now() < end; i++) {
      const op = pick();
      const t = performance.now();
      try {
        await ops[op]!(w, i);
        (lat[op] ??= []).push(performance.now() - t);
      } catch (err) {
        errors.push(`${op}: ${(err as Error).message}`);
      }
    }
  }),
);
clearInterval(report);
const final = { rss: rssMB(), fds: fds() };
await srv.cleanup();

console.log(`soak done: ${errors.length} errors; RSS ${final.rss.toFixed(0)} MB; fds ${final.fds}`);
for (const e of errors.slice(0, 20)) console.log(`  error: ${e}`);
// Growth: compare the last minute with the second (the first includes warm-up).
const base = minutesOut[1] ?? minutesOut[0];
const leak = base && minutesOut.length >= 3 && (final.rss > base.rss * 1.5 || final.fds > base.fds * 1.5 + 20);
if (leak) console.log(`soak: growth from minute 2 (${base!.rss.toFixed(0)} MB, ${base!.fds} fds) to the end (${final.rss.toFixed(0)} MB, ${final.fds} fds) looks like a leak`);
process.exit(errors.length || leak ? 1 : 0);
