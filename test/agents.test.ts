import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "./helpers/server.js";

const FIXTURES = new URL("./fixtures/agents.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uid = () => Math.random().toString(36).slice(2, 8);

describe("agents, driven by the real AgentClient from the agents package", () => {
  let srv: TestServer;
  const clients: AgentClient[] = [];
  const connect = async (agent: string, name: string, extra: Record<string, unknown> = {}) => {
    const states: unknown[] = [];
    const c = new AgentClient({
      agent,
      name,
      host: `127.0.0.1:${srv.port}`,
      WebSocket: WebSocket as never,
      onStateUpdate: (s: unknown) => states.push(s),
      ...extra,
    } as never);
    clients.push(c);
    await c.ready;
    return { c, states };
  };
  /** A raw WebSocket, for frames the client library would never send. */
  const raw = async (path: string) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}${path}`);
    const frames: string[] = [];
    ws.on("message", (d) => frames.push(d.toString()));
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    return { ws, frames };
  };

  before(async () => {
    srv = await startTestServer({ args: ["--agents", FIXTURES], env: { BURROW_AGENT_IDLE_MS: "500" } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await srv.cleanup();
  });

  it("connects, identifies, and sends exactly one state frame after identity", async () => {
    const { ws, frames } = await raw(`/agents/counter/ident-${uid()}?_pk=conn-1`);
    await sleep(200);
    const parsed = frames.map((f) => JSON.parse(f));
    assert.equal(parsed[0].type, "cf_agent_identity");
    assert.equal(parsed[0].agent, "counter");
    assert.match(parsed[0].name, /^ident-/);
    assert.deepEqual(parsed.slice(1).map((p) => p.type), ["cf_agent_state"]);
    assert.deepEqual(parsed[1].state, { count: 0 });
    ws.close();
    const { frames: f2, ws: w2 } = await raw(`/agents/stateless/s-${uid()}`);
    await sleep(150);
    assert.deepEqual(f2.map((f) => JSON.parse(f).type), ["cf_agent_identity"], "no state frame without initialState");
    w2.close();
  });

  it("calls methods, streams, and refuses what is not callable or does not exist", async () => {
    const { c } = await connect("Counter", `rpc-${uid()}`);
    assert.equal(await c.call("increment", [5]), 5);
    assert.equal(await c.call("increment", []), 6);
    const chunks: unknown[] = [];
    const final = await c.call("countTo", [4], { stream: { onChunk: (x: unknown) => chunks.push(x) } } as never);
    assert.deepEqual(chunks, [1, 2, 3, 4]);
    assert.equal(final, 4);
    await assert.rejects(c.call("nope"), /Method nope does not exist/);
    await assert.rejects(c.call("onRequest"), /Method onRequest is not callable/);
    const r = await connect("Recorder", `rpc-${uid()}`);
    assert.equal(await r.c.call("nothing"), undefined);
    assert.equal(await r.c.call("nullish"), null);
    await assert.rejects(r.c.call("boom"), /it broke/);
    await assert.rejects(r.c.call("notCallable"), /not callable/);
    await assert.rejects(r.c.call("failing", [], { stream: { onChunk: () => {} } } as never), /stream broke/);
    // Concurrent calls resolve independently, by id.
    const [slowV, fastV] = await Promise.all([r.c.call("slow", [300, "slow"]), r.c.call("slow", [10, "fast"])]);
    assert.deepEqual([slowV, fastV], ["slow", "fast"]);
  });

  it("syncs state between two clients both ways; the source is not echoed", async () => {
    const name = `sync-${uid()}`;
    const a = await connect("Counter", name);
    const b = await connect("Counter", name);
    await a.c.call("increment", [3]);
    await sleep(100);
    assert.deepEqual(b.states.at(-1), { count: 3 });
    const before = a.states.length;
    b.c.setState({ count: 42 });
    await sleep(200);
    assert.deepEqual(a.states.at(-1), { count: 42 });
    assert.equal(b.states.filter((s) => (s as { count: number }).count === 42).length, 1, "b saw its own update once (locally), not echoed");
    assert.ok(a.states.length > before);
    assert.equal(await a.c.call("increment", [1]), 43, "the server's state changed");
  });

  it("refuses a state change validateStateChange rejects, without broadcasting it", async () => {
    const name = `guard-${uid()}`;
    const { ws, frames } = await raw(`/agents/guarded/${name}`);
    const other = await connect("Guarded", name);
    const seen = other.states.length;
    ws.send(JSON.stringify({ type: "cf_agent_state", state: { value: -1 } }));
    await sleep(200);
    assert.ok(frames.some((f) => JSON.parse(f).type === "cf_agent_state_error" && JSON.parse(f).error === "State update rejected"));
    assert.equal(other.states.length, seen, "no broadcast");
    assert.equal(await other.c.call("read"), 0);
    ws.close();
  });

  it("keeps readonly connections from changing state, by frame or by RPC, while reads work", async () => {
    const name = `ro-${uid()}`;
    const { ws, frames } = await raw(`/agents/guarded/${name}?mode=readonly`);
    ws.send(JSON.stringify({ type: "cf_agent_state", state: { value: 5 } }));
    ws.send(JSON.stringify({ type: "rpc", id: "r1", method: "set", args: [7] }));
    ws.send(JSON.stringify({ type: "rpc", id: "r2", method: "read", args: [] }));
    await sleep(300);
    const msgs = frames.map((f) => JSON.parse(f));
    assert.ok(msgs.some((m) => m.type === "cf_agent_state_error"));
    assert.equal(msgs.find((m) => m.id === "r1").success, false);
    assert.deepEqual(msgs.find((m) => m.id === "r2"), { type: "rpc", id: "r2", success: true, done: true, result: 0 });
    ws.close();
  });

  it("delivers onConnect before messages, and a burst of 25 messages in order", async () => {
    const name = `burst-${uid()}`;
    const { ws, frames } = await raw(`/agents/recorder/${name}`);
    for (let i = 0; i < 25; i++) ws.send(`m${i}`);
    await sleep(800);
    const echoes = frames.map((f) => JSON.parse(f)).filter((m) => m.type === "echo" || m.type === "connected");
    assert.equal(echoes[0].type, "connected");
    assert.deepEqual(echoes.slice(1).map((m) => m.message), Array.from({ length: 25 }, (_, i) => `m${i}`));
    ws.close();
  });

  it("survives malformed frames and keeps answering RPC", async () => {
    const name = `bad-${uid()}`;
    const { ws, frames } = await raw(`/agents/counter/${name}`);
    for (const f of ["{not json", JSON.stringify({ type: "mystery" }), JSON.stringify({ type: "rpc", method: "increment" }), JSON.stringify({ type: "rpc", id: "x1" }), JSON.stringify({ type: "rpc", id: "x2", method: "increment", args: null })])
      ws.send(f);
    await sleep(200);
    ws.send(JSON.stringify({ type: "rpc", id: "ok", method: "increment", args: [2] }));
    await sleep(200);
    const msgs = frames.map((f) => JSON.parse(f));
    assert.equal(msgs.find((m) => m.id === "x1")?.success, false);
    assert.equal(msgs.find((m) => m.id === "x2")?.result, 1, "null args are no args");
    assert.equal(msgs.find((m) => m.id === "ok")?.result, 3);
    ws.close();
  });

  it("routes HTTP to onRequest with sub-paths, query, method and body; hooks can refuse", async () => {
    const name = `http-${uid()}`;
    const r = await fetch(`${srv.url}/agents/guarded/${name}/deep/path?x=1`, { method: "POST", body: "payload", headers: { "x-key": "open-sesame" } });
    assert.deepEqual(await r.json(), { path: `/agents/guarded/${name}/deep/path`, query: "?x=1", method: "POST", body: "payload" });
    assert.equal((await fetch(`${srv.url}/agents/guarded/${name}`)).status, 401);
    const unknown = await fetch(`${srv.url}/agents/no-such-class/x`);
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).code, "AGENT_NOT_FOUND");
    const denied = new WebSocket(`ws://127.0.0.1:${srv.port}/agents/guarded/${name}?deny=1`);
    assert.equal(await new Promise((r) => denied.once("unexpected-response", (_q, res) => r(res.statusCode))), 403);
    // CamelCase, UPPERCASE and underscored names resolve through kebab-case.
    const counterName = `case-${uid()}`;
    assert.equal((await (await fetch(`${srv.url}/agents/Counter/${counterName}`)).json()).count, 0);
  });

  it("keeps SQL data and state across eviction and wake", async () => {
    const name = `evict-${uid()}`;
    const a = await connect("Recorder", name);
    assert.equal(await a.c.call("addNote", ["first"]), 1);
    const first = await a.c.call("incarnation");
    a.c.close();
    await sleep(1500); // idle timeout is 500 ms in this server; the sweeper runs as often
    const b = await connect("Recorder", name);
    assert.notEqual(await b.c.call("incarnation"), first, "the idle instance left memory and a new one woke");
    assert.deepEqual(await b.c.call("notes"), ["first"]);
    assert.deepEqual((b.states.at(-1) as { events: string[] }).events.slice(0, 2), ["connect", "connect"]);
  });

  it("calls another agent through a server-side stub", async () => {
    const name = `stub-${uid()}`;
    const a = await connect("Recorder", `caller-${uid()}`);
    assert.equal(await a.c.call("askCounter", [name, 7]), 7);
    const c = await connect("Counter", name);
    assert.deepEqual(c.states.at(-1), { count: 7 }, "the same instance, seen over WebSocket");
  });

  it("runs schedules, cancels them, keeps cron idempotent, and retries a throwing callback", async () => {
    const name = `sched-${uid()}`;
    const { c } = await connect("Recorder", name);
    await c.call("scheduleIn", [1, "soon"]);
    const cancelMe = await c.call("scheduleIn", [1, "cancelled"]);
    assert.equal(await c.call("cancel", [cancelMe]), true);
    assert.equal(await c.call("cancel", ["nope"]), false);
    const cron1 = await c.call("scheduleCron", ["*/5 * * * *"]);
    const cron2 = await c.call("scheduleCron", ["*/5 * * * *"]);
    assert.equal(cron1, cron2, "same cron, same callback: one schedule");
    const types = (await c.call("schedules")) as { type: string; callback: string }[];
    assert.deepEqual(types.map((t) => `${t.type}:${t.callback}`).sort(), ["cron:fired", "delayed:fired", "interval:hourly"]);
    await c.call("scheduleFlaky");
    // The delayed one fires within ~2 s; the flaky one fails, then is retried after a 2 s backoff.
    let notes: string[] = [];
    for (const t = Date.now(); Date.now() - t < 10_000; await sleep(200)) {
      notes = (await c.call("notes")) as string[];
      if (notes.includes("flaky-1") && notes.some((n) => n.startsWith("fired:soon"))) break;
    }
    assert.ok(notes.includes(`fired:soon:${name}`), "this.name works inside callbacks");
    assert.ok(!notes.some((n) => n.includes("cancelled")));
    assert.deepEqual(notes.filter((n) => n.startsWith("flaky")), ["flaky-0", "flaky-1"], "retried after failing once");
    const left = (await c.call("schedules")) as { type: string }[];
    assert.deepEqual(left.map((s) => s.type).sort(), ["cron", "interval"], "one-shot rows are gone after running");
  });

  it("serves a class that names itself in its body under its own name", async () => {
    const { c } = await connect("Ticker", `self-${uid()}`);
    assert.equal(await c.call("selfName"), 0);
    const wrong = await fetch(`${srv.url}/agents/-ticker/x`);
    assert.equal(wrong.status, 404);
    assert.equal((await wrong.json()).code, "AGENT_NOT_FOUND");
  });

  it("runs schedules armed by a readonly connection as the agent, and every later one too", async () => {
    const name = `ro-sched-${uid()}`;
    const ro = await connect("Ticker", name, { query: { mode: "readonly" } });
    await ro.c.call("tickIn", [0]);
    const rw = await connect("Ticker", name);
    const waitTicks = async (n: number) => {
      for (const t = Date.now(); Date.now() - t < 8000; await sleep(100)) if ((await rw.c.call("ticks")) === n) return;
      assert.fail(`ticks did not reach ${n}: ${await rw.c.call("ticks")}`);
    };
    await waitTicks(1);
    // A schedule armed later, by anyone, still runs outside the readonly caller's context.
    await rw.c.call("tickIn", [1]);
    await waitTicks(2);
  });

  it("runs a schedule that fell due while the server was down", async () => {
    const name = `overdue-${uid()}`;
    const { c } = await connect("Recorder", name);
    await c.call("scheduleIn", [1, "overdue"]);
    c.close();
    await srv.stop();
    await sleep(1500);
    await srv.restart();
    await sleep(1500);
    const again = await connect("Recorder", name);
    assert.ok(((await again.c.call("notes")) as string[]).includes(`fired:overdue:${name}`));
  });

  it("destroy removes storage and schedules", async () => {
    const name = `doomed-${uid()}`;
    const { c } = await connect("Recorder", name);
    await c.call("addNote", ["gone soon"]);
    await c.call("scheduleIn", [3600, "never"]);
    const before = await c.call("incarnation");
    assert.equal(((await c.call("schedules")) as { callback: string }[]).filter((s) => s.callback === "fired").length, 1);
    // destroy ends the instance and its connections, so the call's answer may never come: wait for the close instead.
    const closed = new Promise<void>((resolve) => c.addEventListener("close", () => resolve()));
    void c.call("destroyMe").catch(() => {});
    await Promise.race([closed, sleep(5000).then(() => assert.fail("the connection stayed open after destroy"))]);
    const again = await connect("Recorder", name);
    assert.notEqual(await again.c.call("incarnation"), before);
    assert.deepEqual(await again.c.call("notes"), []);
    const left = (await again.c.call("schedules")) as { callback: string }[];
    assert.deepEqual(left.map((s) => s.callback), ["hourly"], "only the new instance's own schedule is there");
  });

  it("owns a sandbox named after it, created on first use", async () => {
    const name = `owner-${uid()}`;
    const { c } = await connect("Recorder", name);
    const r = (await c.call("inSandbox", ["cat /workspace/owner.txt; hostname"], { timeout: 60_000 } as never)) as { id: string; stdout: string };
    assert.equal(r.id, `recorder-${name}`);
    assert.equal(r.stdout, `${name}recorder-${name}\n`);
    assert.equal((await srv.burrow.get(`recorder-${name}`)).state, "running");
    const weird = await connect("Recorder", "Mixed Case Name!");
    const w = (await weird.c.call("inSandbox", ["true"], { timeout: 60_000 } as never)) as { id: string };
    assert.match(w.id, /^recorder-mixed-case-name-[0-9a-f]{8}$/);
  });

  it("needs no admin token for agents routes", async () => {
    const r = await fetch(`${srv.url}/agents/counter/open-${uid()}`);
    assert.equal(r.status, 200);
  });
});
