import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { cpus, loadavg } from "node:os";
import { startTestServer, type TestServer } from "../test/helpers/server.js";
import { Metrics } from "../src/observability/metrics.js";
import { Tracer } from "../src/observability/tracing.js";
import { touch } from "./agents.js";
import { median, ms, report } from "./stats.js";

/*
 * What observability costs: exec round trips and agents touched per second
 * on a server with everything on (JSON logs at info, /metrics scraped every
 * 15 s or BENCH_OBS_SCRAPE_MS, spans exported to an OTLP/HTTP receiver this
 * bench runs) beside
 * one with everything off (--log-level silent, no scrape, no endpoint).
 * Both servers run side by side and the rounds alternate between them in
 * ABBA order, so a load change on this shared machine hits both alike.
 * The prom-client counters are updated on every request either way (there
 * is no switch for them): their cost is measured on its own, below.
 */

const FIXTURES = new URL("../test/fixtures/agents.ts", import.meta.url).pathname;
const TARGET = 0.03;

/** A stand-in collector: takes OTLP/HTTP JSON batches and counts their bytes (parsing them is a collector's cost, not Burrow's). */
async function startReceiver(): Promise<{ url: string; batches: () => number; bytes: () => number; close(): void }> {
  let batches = 0;
  let bytes = 0;
  const server: Server = createServer((req, res) => {
    req.on("data", (d: Buffer) => (bytes += d.length)).on("end", () => {
      batches++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  const port = await new Promise<number>((r) => server.listen(0, "127.0.0.1", () => r((server.address() as { port: number }).port)));
  return { url: `http://127.0.0.1:${port}`, batches: () => batches, bytes: () => bytes, close: () => server.close() };
}

/** Scrape /metrics as Prometheus would (15 s is the usual interval; its own default is 1 min). */
function scrapeEvery(srv: TestServer, everyMs: number): () => void {
  const t = setInterval(() => void srv.api("GET", "/metrics").then((r) => r.text()).catch(() => {}), everyMs);
  return () => clearInterval(t);
}

/** The order of round `i` of an ABBA sequence: on first, off first, off first, on first, ... */
const onFirst = (i: number) => i % 4 === 0 || i % 4 === 3;

/** `rounds` runs on each side, in ABBA order. */
async function paired<T>(rounds: number, run: (side: "on" | "off", round: number) => Promise<T>): Promise<{ on: T[]; off: T[] }> {
  const out = { on: [] as T[], off: [] as T[] };
  for (let i = 0; i < rounds; i++)
    for (const side of onFirst(i) ? (["on", "off"] as const) : (["off", "on"] as const)) out[side].push(await run(side, i));
  return out;
}

/**
 * CPU time a process has used so far, ns: the sum of its threads' run time
 * from /proc/<pid>/task/<tid>/schedstat (ns resolution, where /proc/<pid>/stat
 * counts 10 ms ticks). Less swayed by the machine's load than wall time.
 */
function cpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      /* a thread that just ended */
    }
  }
  return ns;
}

const pct = (v: number) => `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}%`;

/** prom-client's per-request work (one counter increment, one histogram observation), in ns. */
function metricUpdateNs(): number {
  const m = new Metrics({ sandboxes: () => [], poolReady: () => ({}), agentsLive: () => 0, usage: undefined as never, perSandbox: false });
  const n = 200_000;
  const routes = ["POST /v1/sandboxes/:id/exec", "GET /v1/sandboxes/:id/files", "PUT /v1/sandboxes/:id/files"];
  for (let i = 0; i < 20_000; i++) m.http.requests.inc({ route: routes[i % 3]!, status: "200" });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const route = routes[i % 3]!;
    m.http.requests.inc({ route, status: "200" });
    m.http.duration.observe({ route }, 0.001);
  }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  m.close();
  return ns;
}

/** The tracer's own work for one span (made, ended, exported as OTLP JSON to `url`), in ns. */
async function spanNs(url: string): Promise<number> {
  const t = new Tracer({ OTEL_EXPORTER_OTLP_ENDPOINT: url });
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) await t.request({}, undefined, "HTTP POST /v1/sandboxes/:id/exec", { "http.method": "POST", "http.route": "POST /v1/sandboxes/:id/exec", "burrow.request_id": "0123456789abcdef" }, async () => {});
    await t.flush();
  };
  await run(5000);
  const n = 50_000;
  const t0 = process.hrtime.bigint();
  await run(n);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  await t.close();
  return ns;
}

export async function benchObservability(opts: { rounds: number; execs: number; agents: number }): Promise<void> {
  console.log("\n## Observability overhead (on: JSON logs, /metrics scraped, OTLP tracing; off: all off)");
  const load0 = loadavg()[0]!;
  const receiver = await startReceiver();
  const common = { BURROW_AGENT_IDLE_MS: "5000", ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}) };
  const on = await startTestServer({ args: ["--agents", FIXTURES, "--log-level", "info"], env: { ...common, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
  const off = await startTestServer({ args: ["--agents", FIXTURES, "--log-level", "silent"], env: common });
  const scrapeMs = Number(process.env.BENCH_OBS_SCRAPE_MS ?? 15_000);
  const stopScrape = scrapeEvery(on, scrapeMs);
  const servers = { on, off };
  try {
    const sandboxes = { on: on.burrow.sandbox(`obs-${Math.random().toString(36).slice(2, 8)}`), off: off.burrow.sandbox(`obs-${Math.random().toString(36).slice(2, 8)}`) };
    for (const side of ["on", "off"] as const) for (let i = 0; i < 100; i++) await sandboxes[side].exec("/bin/true");

    // Exec: one round trip on each in turn, ABBA, so each pair shares a moment of the machine's load.
    const exec = { on: [] as number[], off: [] as number[] };
    const execCpu = { on: [] as number[], off: [] as number[] }; // server CPU ms per request
    for (let i = 0; i < opts.execs; i++)
      for (const side of onFirst(i) ? (["on", "off"] as const) : (["off", "on"] as const)) {
        const c = cpuNs(servers[side].child.pid!);
        const t = performance.now();
        await sandboxes[side].exec("/bin/true");
        exec[side].push(performance.now() - t);
        execCpu[side].push((cpuNs(servers[side].child.pid!) - c) / 1e6);
      }
    const execOn = median(exec.on);
    const execOff = median(exec.off);
    // Headline: the median of the pairs' ratios (each pair ran back to back); beside it the ratio of the two medians.
    const execOver = median(exec.on.map((v, i) => v / exec.off[i]!)) - 1;
    const slice = Math.ceil(opts.execs / 10);
    const execSlices = Array.from({ length: Math.ceil(opts.execs / slice) }, (_, k) => median(exec.on.slice(k * slice, (k + 1) * slice)) / median(exec.off.slice(k * slice, (k + 1) * slice)) - 1);
    report(
      `exec /bin/true round trip (HTTP API), ${opts.execs} pairs, ABBA, scrape every ${scrapeMs / 1000} s: median of pair ratios`,
      `${pct(execOver)} (p50 on ${ms(execOn)}, off ${ms(execOff)}: ${pct(execOn / execOff - 1)}; 10 slices ${pct(Math.min(...execSlices))} to ${pct(Math.max(...execSlices))})`,
      "<= +3%",
      "",
      execOver <= TARGET,
    );
    const cpuOver = median(execCpu.on.map((v, i) => v / execCpu.off[i]!)) - 1;
    report(
      "server CPU per exec (all its threads, schedstat): median of pair ratios",
      `${pct(cpuOver)} (median on ${ms(median(execCpu.on))}, off ${ms(median(execCpu.off))})`,
      "<= +3%",
      "",
      cpuOver <= TARGET,
    );

    // Agents touched/s (the real AgentClient: connect, ready, RPC, close), fresh names each round.
    for (const side of ["on", "off"] as const) await touch(servers[side].port, 50, "warm");
    const agentCpu = { on: [] as number[], off: [] as number[] }; // server CPU ms per agent, per round
    const agents = await paired(opts.rounds, async (side, round) => {
      const c = cpuNs(servers[side].child.pid!);
      const rate = await touch(servers[side].port, opts.agents, `obs-${round}`);
      agentCpu[side].push((cpuNs(servers[side].child.pid!) - c) / 1e6 / opts.agents);
      return rate;
    });
    const agentsOn = median(agents.on);
    const agentsOff = median(agents.off);
    // Time per agent, on over off, per pair of rounds.
    const agentRatios = agents.on.map((v, i) => agents.off[i]! / v);
    const agentsOver = median(agentRatios) - 1;
    report(
      `agents touched (AgentClient, 20 at a time), ${opts.rounds} pairs of rounds of ${opts.agents} names, ABBA: time per agent, median of pair ratios`,
      `${pct(agentsOver)} (median on ${agentsOn.toFixed(0)}/s, off ${agentsOff.toFixed(0)}/s; pairs ${pct(Math.min(...agentRatios) - 1)} to ${pct(Math.max(...agentRatios) - 1)})`,
      "<= +3%",
      "",
      agentsOver <= TARGET,
    );
    const agentCpuOver = median(agentCpu.on.map((v, i) => v / agentCpu.off[i]!)) - 1;
    report(
      "server CPU per agent touched (schedstat): median of pair ratios",
      `${pct(agentCpuOver)} (median on ${ms(median(agentCpu.on))}, off ${ms(median(agentCpu.off))})`,
      "<= +3%",
      "",
      agentCpuOver <= TARGET,
    );
    await new Promise((r) => setTimeout(r, 700)); // the last export
    report("spans exported while on", `${receiver.batches()} OTLP batches, ${(receiver.bytes() / 1e6).toFixed(1)} MB`, "-");
    const metricNs = metricUpdateNs();
    report("prom-client work per API request (always on: counter + histogram)", `${metricNs.toFixed(0)} ns (${pct(metricNs / 1e6 / median(execCpu.off))} of an exec's server CPU)`, "-");
    const oneSpan = await spanNs(receiver.url);
    report("tracer work per span, in this process (made, ended, batched, sent as OTLP JSON; the receiver here too)", `${(oneSpan / 1000).toFixed(1)} µs: an exec makes 3 (HTTP, exec, runtime.exec), ${pct((3 * oneSpan) / 1e6 / median(execCpu.off))} of its server CPU`, "-");
    report("load average (1 min) at start / end", `${load0.toFixed(2)} / ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores`, "-");
  } finally {
    stopScrape();
    await on.cleanup();
    await off.cleanup();
    receiver.close();
  }
}
