import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { name, startTestServer, type TestServer } from "./helpers/server.js";
import { NOOP_SPAN, Tracer } from "../src/observability/tracing.js";

/*
 * Traces: with OTEL_EXPORTER_OTLP_ENDPOINT pointed at a small OTLP/HTTP
 * receiver written here, the spans of an exec, a file write and read, a code
 * run, an agent RPC (and the sandbox calls it makes) and a schedule run
 * arrive with their attributes and parent/child links, the runtime's part
 * included. The agents are test/fixtures/agents.ts, driven by the real
 * AgentClient.
 */
const FIXTURES = new URL("./fixtures/agents.ts", import.meta.url).pathname;

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

describe("tracing", () => {
  let receiver: Server;
  let srv: TestServer;
  const spans: OtlpSpan[] = [];
  before(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d)).on("end", () => {
        if (req.url === "/v1/traces") for (const rs of JSON.parse(body).resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    const port = await new Promise<number>((r) => receiver.listen(0, "127.0.0.1", () => r((receiver.address() as { port: number }).port)));
    srv = await startTestServer({ args: ["--agents", FIXTURES], env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
  });
  after(async () => {
    await srv.cleanup();
    receiver.close();
  });

  it("exports an exec's spans with parent/child links across the runtime", async () => {
    const sbx = srv.burrow.sandbox(name("trace"));
    await sbx.exec("sleep 0.05");
    const deadline = Date.now() + 10_000;
    const find = (n: string) => spans.find((s) => s.name === n);
    while (Date.now() < deadline && !find("runtime.exec")) await new Promise((r) => setTimeout(r, 50));
    const http = spans.find((s) => s.name === "HTTP POST /v1/sandboxes/:id/exec");
    const exec = find("exec");
    const runtime = find("runtime.exec");
    assert.ok(http && exec && runtime, `spans seen: ${spans.map((s) => s.name).join(", ")}`);
    assert.equal(exec!.parentSpanId, http!.spanId);
    assert.equal(runtime!.parentSpanId, exec!.spanId);
    assert.equal(new Set([http!.traceId, exec!.traceId, runtime!.traceId]).size, 1);
    const ms = (s: OtlpSpan) => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6;
    assert.ok(ms(runtime!) >= 40, `the runtime's span covers the command: ${ms(runtime!)} ms`);
    assert.ok(ms(exec!) >= ms(runtime!) - 1);
    assert.ok(exec!.attributes.some((a) => a.key === "sandbox" && a.value.stringValue === sbx.id));
    // The exec found no sandbox: the request's span holds the container's start.
    const start = spans.find((s) => s.name === "sandbox.start" && s.parentSpanId === http!.spanId);
    assert.ok(start?.attributes.some((a) => a.key === "sandbox.start_kind" && a.value.stringValue === "cold"), `sandbox.start: ${JSON.stringify(start)}`);
    // A caller's traceparent becomes the parent of the request's span.
    const parent = "0af7651916cd43dd8448eb211c80319c";
    await srv.api("GET", "/v1/sandboxes", undefined, { traceparent: `00-${parent}-b7ad6b7169203331-01` });
    while (Date.now() < deadline + 5000 && !spans.some((s) => s.traceId === parent)) await new Promise((r) => setTimeout(r, 50));
    const list = spans.find((s) => s.traceId === parent);
    assert.equal(list?.parentSpanId, "b7ad6b7169203331");
  });

  const attr = (s: OtlpSpan | undefined, key: string) => {
    const v = s?.attributes.find((a) => a.key === key)?.value;
    return v && (v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined));
  };
  /** Wait for spans matching `pred` (the exporter sends every 500 ms). */
  const waitFor = async (what: string, pred: (s: OtlpSpan) => boolean, n = 1): Promise<OtlpSpan[]> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = spans.filter(pred);
      if (found.length >= n) return found;
      if (Date.now() > deadline) assert.fail(`no ${what} span; spans seen: ${[...new Set(spans.map((s) => s.name))].join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const childOf = (parent: OtlpSpan) => (s: OtlpSpan) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId;

  it("exports file writes and reads, and code runs, with the runtime's part as a child", async () => {
    const sbx = srv.burrow.sandbox(name("trace-files"));
    const data = "x".repeat(100_000);
    await sbx.writeFile("/workspace/t.txt", data);
    assert.equal((await sbx.readFile("/workspace/t.txt")).content, data);
    for (const [op, method] of [["write", "PUT"], ["read", "GET"]] as const) {
      const [span] = await waitFor(`files.${op}`, (s) => s.name === `files.${op}` && attr(s, "sandbox") === sbx.id);
      const [http] = await waitFor(`the HTTP span of files.${op}`, (s) => s.spanId === span!.parentSpanId && s.traceId === span!.traceId);
      assert.equal(http!.name, `HTTP ${method} /v1/sandboxes/:id/files`);
      const [rt] = await waitFor(`runtime.files.${op}`, (s) => s.name === `runtime.files.${op}` && childOf(span!)(s));
      assert.equal(attr(rt, "sandbox"), sbx.id);
      // The runtime's part lies inside the server's span (clocks are the same host's; 50 ms of slack for a loaded machine).
      assert.ok(BigInt(rt!.startTimeUnixNano) >= BigInt(span!.startTimeUnixNano) - 50_000_000n);
      assert.ok(BigInt(rt!.endTimeUnixNano) <= BigInt(span!.endTimeUnixNano) + 50_000_000n);
      assert.ok(!JSON.stringify([span, rt]).includes("t.txt"), "file names are not span attributes");
    }
    assert.equal(attr(spans.find((s) => s.name === "files.read" && attr(s, "sandbox") === sbx.id), "files.bytes"), data.length);

    const out = await sbx.runCode("import time; time.sleep(0.05); 6 * 7");
    assert.equal(out.results[0]?.text, "42");
    const [run] = await waitFor("code.run", (s) => s.name === "code.run" && attr(s, "sandbox") === sbx.id);
    const [http] = await waitFor("HTTP code run", (s) => s.spanId === run!.parentSpanId);
    assert.equal(http!.name, "HTTP POST /v1/sandboxes/:id/contexts/:ctx/run");
    assert.ok(attr(run, "code.context"));
    const [rt] = await waitFor("runtime.code.run", (s) => s.name === "runtime.code.run" && childOf(run!)(s));
    const ms = Number(BigInt(rt!.endTimeUnixNano) - BigInt(rt!.startTimeUnixNano)) / 1e6;
    assert.ok(ms >= 40, `the runtime's span covers the cell: ${ms} ms`);
  });

  it("exports an agent RPC with its sandbox calls as children, and a schedule run as a trace of its own", async () => {
    const agentName = name("traced");
    const c = new AgentClient({ agent: "Recorder", name: agentName, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never } as never);
    try {
      await c.ready;
      const r = (await c.call("inSandbox", ["echo hi"], { timeout: 60_000 } as never)) as { stdout: string };
      assert.equal(r.stdout.trim(), "hi");
      const [rpc] = await waitFor("agent.rpc", (s) => s.name === "agent.rpc" && attr(s, "agent.name") === agentName && attr(s, "rpc.method") === "inSandbox");
      assert.equal(attr(rpc, "agent"), "recorder");
      // The agent's writeFile and exec went through the API: their HTTP spans are the RPC's children, with the runtime's below.
      const [write] = await waitFor("the agent's file write", (s) => s.name === "HTTP PUT /v1/sandboxes/:id/files" && childOf(rpc!)(s));
      const [execHttp] = await waitFor("the agent's exec", (s) => s.name === "HTTP POST /v1/sandboxes/:id/exec" && childOf(rpc!)(s));
      const [exec] = await waitFor("exec under the agent", (s) => s.name === "exec" && childOf(execHttp!)(s));
      await waitFor("runtime.exec under the agent", (s) => s.name === "runtime.exec" && childOf(exec!)(s));
      await waitFor("files.write under the agent", (s) => s.name === "files.write" && childOf(write!)(s));
      assert.ok(String(attr(exec, "sandbox")).startsWith("recorder-"), "the agent's sandbox is named in the exec span");

      await c.call("scheduleIn", [0, "traced"]);
      const [sched] = await waitFor("agent.schedule", (s) => s.name === "agent.schedule" && attr(s, "agent.name") === agentName && attr(s, "schedule.callback") === "fired");
      assert.equal(attr(sched, "agent"), "recorder");
      assert.equal(attr(sched, "schedule.type"), "delayed");
      // Its own trace: not a child of the RPC that armed it.
      assert.equal(sched!.parentSpanId, undefined);
      const arming = spans.find((s) => s.name === "agent.rpc" && attr(s, "rpc.method") === "scheduleIn" && attr(s, "agent.name") === agentName);
      assert.ok(arming && arming.traceId !== sched!.traceId);
    } finally {
      c.close();
    }
  });

  it("off, every span is the one shared no-op and no trace context is sent", async () => {
    const off = new Tracer({});
    const seen = new Set<unknown>();
    for (let i = 0; i < 3; i++) await off.child(undefined, "x", { a: 1 }, async (s) => void seen.add(s));
    await off.request({}, undefined, "HTTP GET /", {}, async () => void seen.add(off.of({})));
    assert.deepEqual([...seen], [NOOP_SPAN, undefined]);
    assert.equal(Object.keys(off.headers({ traceId: "a".repeat(32), spanId: "b".repeat(16) })).length, 0);
    assert.equal(off.fetch(() => undefined), fetch);
    assert.equal(off.startParent("any"), undefined);
  });
});
