import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import parsePrometheusTextFormat, { type MetricFamily } from "parse-prometheus-text-format";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { freePort, name, startTestServer, type TestServer } from "./helpers/server.js";

/*
 * Metrics, usage metering and logs, read the way an operator's tools read
 * them: /metrics through a Prometheus text parser, usage from the API, logs
 * as JSON lines on the server's stderr.
 */

const family = (fams: MetricFamily[], n: string) => {
  const f = fams.find((x) => x.name === n);
  assert.ok(f, `no metric family ${n}`);
  return f!;
};
const sum = (f: MetricFamily, labels: Record<string, string> = {}) =>
  f.metrics
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((a, m) => a + Number(m.value ?? m.count ?? 0), 0);

describe("observability", () => {
  let srv: TestServer;
  let metricsPort: number;
  let upstream: Server;
  let upstreamPort: number;
  const payload = Buffer.alloc(3 * 1024 * 1024, 7);
  before(async () => {
    metricsPort = await freePort();
    upstream = createServer((_, res) => res.end(payload));
    upstreamPort = await new Promise<number>((r) => upstream.listen(0, "127.0.0.1", () => r((upstream.address() as { port: number }).port)));
    srv = await startTestServer({ args: ["--metrics-port", String(metricsPort), "--egress-allow", `127.0.0.1:${upstreamPort}`] });
  });
  after(async () => {
    await srv.cleanup();
    upstream.close();
  });

  const scrape = async () => {
    const r = await srv.api("GET", "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /text\/plain/);
    return parsePrometheusTextFormat(await r.text());
  };

  it("serves Prometheus metrics whose counters move with the work done, with route patterns and no ids", async () => {
    assert.equal((await fetch(`${srv.url}/metrics`)).status, 401, "the API's /metrics needs the token");
    const id = name("metrics");
    const sbx = srv.burrow.sandbox(id);
    await sbx.exec("true");
    const before = await scrape();
    const execsBefore = sum(family(before, "burrow_exec_duration_seconds"));
    for (let i = 0; i < 3; i++) await sbx.exec("echo hi");
    await sbx.sleep();
    await sbx.exec("true"); // a wake
    const fams = await scrape();
    for (const n of ["process_cpu_user_seconds_total", "burrow_sandboxes", "burrow_sandbox_starts_total", "burrow_sandbox_start_duration_seconds", "burrow_exec_duration_seconds",
      "burrow_http_requests_total", "burrow_http_request_duration_seconds", "burrow_sandbox_cpu_seconds_total", "burrow_sandbox_memory_bytes", "burrow_sandbox_disk_bytes",
      "burrow_egress_connections_total", "burrow_agents_live", "burrow_agent_rpc_duration_seconds", "burrow_agent_connections", "burrow_pool_ready"])
      family(fams, n);
    assert.equal(sum(family(fams, "burrow_exec_duration_seconds")) - execsBefore, 4);
    assert.ok(sum(family(fams, "burrow_sandbox_starts_total"), { kind: "cold" }) >= 1);
    assert.ok(sum(family(fams, "burrow_sandbox_starts_total"), { kind: "wake" }) >= 1);
    assert.equal(sum(family(fams, "burrow_sandboxes"), { state: "running" }), 1);
    const http = family(fams, "burrow_http_requests_total");
    assert.ok(sum(http, { route: "POST /v1/sandboxes/:id/exec", status: "200" }) >= 5);
    for (const m of http.metrics) assert.ok(!(m.labels?.route ?? "").includes(id), `a raw id in a route label: ${m.labels?.route}`);
    // The loopback metrics port needs no token.
    const open = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(open.status, 200);
    assert.ok(parsePrometheusTextFormat(await open.text()).some((f) => f.name === "burrow_sandboxes"));
  });

  it("meters active CPU: a busy loop counts, sleeping does not; usage survives a restart", async () => {
    const sbx = srv.burrow.sandbox(name("cpu"));
    await sbx.exec("true");
    const u0 = await sbx.usage();
    await sbx.exec("sleep 2");
    const u1 = await sbx.usage();
    assert.ok(u1.cpuSeconds - u0.cpuSeconds < 0.3, `a 2 s sleep counted ${u1.cpuSeconds - u0.cpuSeconds} CPU s`);
    // The loop's own CPU time, as bash reports it: on a quiet machine about 2 s; on a loaded one less, and the meter must agree either way.
    const loop = await sbx.exec("TIMEFORMAT='%3U %3S'; { time timeout 2 sh -c 'while :; do :; done'; } 2>&1 | tail -1");
    const [user, sys] = loop.stdout.trim().split(" ").map(Number);
    const used = user! + sys!;
    const u2 = await sbx.usage();
    const busy = u2.cpuSeconds - u1.cpuSeconds;
    assert.ok(used > 0.3, `the loop got only ${used} CPU s`);
    assert.ok(Math.abs(busy - used) < 0.35, `a busy loop that used ${used} CPU s was metered as ${busy}`);
    assert.ok(u2.runningSeconds >= 4, `running ${u2.runningSeconds} s`);
    await sbx.exec("head -c 50000000 /dev/urandom > /workspace/big");
    const u3 = await sbx.usage();
    assert.ok(u3.diskBytes >= 50_000_000, `diskBytes ${u3.diskBytes}`);
    await srv.stop();
    await srv.restart();
    const u4 = await sbx.usage();
    assert.ok(u4.cpuSeconds >= u2.cpuSeconds - 0.01, `after a restart ${u4.cpuSeconds} < ${u2.cpuSeconds}`);
    const period = await srv.burrow.usage({ from: new Date(Date.now() - 3600_000) });
    const row = period.sandboxes.find((s) => s.sandbox === sbx.id);
    assert.ok(row && row.cpuSeconds >= busy - 0.01, "the period table has the sandbox's CPU");
    const bad = await srv.api("GET", "/v1/usage?from=yesterday");
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).code, "VALIDATION_FAILED");
  });

  it("counts egress bytes of a known download", async () => {
    const sbx = srv.burrow.sandbox(name("egress"));
    const r = await sbx.exec(`curl -sS --noproxy '' -x "$HTTP_PROXY" -o /dev/null -w '%{size_download}' http://127.0.0.1:${upstreamPort}/`);
    assert.equal(r.stdout, String(payload.length), r.stderr);
    const u = await sbx.usage();
    assert.ok(u.egressBytesIn >= payload.length && u.egressBytesIn < payload.length + 4096, `egressBytesIn ${u.egressBytesIn}`);
    const fams = await scrape();
    assert.ok(sum(family(fams, "burrow_egress_bytes_total"), { sandbox: sbx.id, direction: "in" }) >= payload.length);
    assert.ok(sum(family(fams, "burrow_egress_connections_total"), { decision: "allow" }) >= 1);
  });

  it("logs JSON lines, and an error answer names its request id, which the log carries", async () => {
    const r = await srv.api("POST", `/v1/sandboxes/${name("logs")}/exec`, { command: "true" });
    assert.ok(r.headers.get("x-request-id"));
    const missing = await srv.api("GET", "/v1/sandboxes/no-such-sandbox-here");
    const body = await missing.json();
    assert.equal(body.code, "SANDBOX_NOT_FOUND");
    assert.match(body.requestId, /^[0-9a-f]{16}$/);
    assert.equal(missing.headers.get("x-request-id"), body.requestId);
    const lines = srv.log.split("\n").filter((l) => l.startsWith("{"));
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(events.some((e) => e.event === "sandbox.create" && typeof e.sandbox === "string" && typeof e.level === "number"), "a lifecycle event as a JSON object");
  });
});

describe("agent events and housekeeping as structured logs", () => {
  let srv: TestServer;
  const FIXTURES = new URL("./fixtures/agents.ts", import.meta.url).pathname;
  before(async () => {
    srv = await startTestServer({ args: ["--agents", FIXTURES] });
  });
  after(async () => srv?.cleanup());

  const events = () => srv.log.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  const until = async (what: string, probe: () => boolean) => {
    for (let i = 0; i < 200 && !probe(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(probe(), `timed out waiting for ${what}`);
  };

  it("counts connect, rpc, state, schedule and error events, and logs agent errors with fields", async () => {
    const agent = name("rec");
    const c = new AgentClient({ agent: "recorder", name: agent, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never } as never);
    await c.ready;
    await c.call("scheduleFlaky", []); // fails once (retried), then runs
    c.send("throw"); // the agent's onMessage throws
    await until("the agent error in the log", () => events().some((e) => e.event === "agent.error" && e.name === agent));
    await until("the retried schedule's failure in the log", () => events().some((e) => e.event === "agent.schedule_failed" && e.callback === "flaky"));
    const err = events().find((e) => e.event === "agent.error" && e.name === agent)!;
    assert.deepEqual({ agent: err.agent, where: err.where, error: err.error }, { agent: "recorder", where: "message", error: "the message handler broke" });
    const fams = parsePrometheusTextFormat(await (await srv.api("GET", "/metrics")).text());
    for (const event of ["connect", "rpc", "state", "schedule", "error"])
      assert.ok(sum(family(fams, "burrow_agent_events_total"), { event }) >= 1, `an agent ${event} event is counted`);
    c.close();
  });

  it("logs a refused egress connection as egress.decision with its host and reason", async () => {
    const sbx = srv.burrow.sandbox(name("deny"));
    const r = await sbx.exec(`curl -sS --noproxy '' -x "$HTTP_PROXY" -o /dev/null -w '%{http_code}' http://refused.example.test/ || true`);
    assert.ok(r.exitCode === 0, r.stderr);
    await until("the egress decision in the log", () => events().some((e) => e.event === "egress.decision" && e.sandbox === sbx.id));
    const d = events().find((e) => e.event === "egress.decision" && e.sandbox === sbx.id)!;
    assert.equal(d.decision, "deny");
    assert.equal(d.host, "refused.example.test");
    assert.equal(typeof d.reason, "string");
    await sbx.destroy();
  });
});
