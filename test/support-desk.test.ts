import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "./helpers/server.js";

const FIXTURES = new URL("./fixtures/agents.ts", import.meta.url).pathname;
const uid = () => Math.random().toString(36).slice(2, 8);

interface Pending {
  runId: string;
  callId: string;
  tool: string;
  arguments: string;
}

/** The human-in-the-loop example, with the OpenAI Agents SDK's scripted model calling the real tools. */
describe("support desk example: approvals that survive a restart", () => {
  let srv: TestServer;
  const clients: AgentClient[] = [];
  const connect = async (name: string) => {
    const states: { pending: Pending[] }[] = [];
    const c = new AgentClient({ agent: "ScriptedDesk", name, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never, onStateUpdate: (s: never) => states.push(s) } as never);
    clients.push(c);
    await c.ready;
    return { c, states };
  };
  before(async () => {
    srv = await startTestServer({ args: ["--agents", FIXTURES] });
  });
  after(async () => {
    for (const c of clients) c.close();
    await srv.cleanup();
  });

  it("pauses for approval, lists it over RPC, HTTP and state, and resumes after a restart", async () => {
    const name = `desk-${uid()}`;
    const { c, states } = await connect(name);
    const asked = (await c.call("ask", ["My order o-17 arrived broken, refund it"], { timeout: 60_000 } as never)) as unknown as { status: string; runId: string; pending: Pending[] };
    assert.equal(asked.status, "paused");
    assert.equal(asked.pending[0]!.tool, "refund");
    assert.deepEqual(JSON.parse(asked.pending[0]!.arguments), { orderId: "o-17", amount: 30 });
    assert.deepEqual(await c.call("refunds"), [], "nothing refunded before a person approves");
    assert.equal(states.at(-1)!.pending.length, 1, "connected clients see the pending approval");
    c.close();

    await srv.stop();
    await srv.restart();

    const listed = (await (await fetch(`${srv.url}/agents/scripted-desk/${name}/pending`)).json()) as Pending[];
    assert.deepEqual(listed, asked.pending);
    const decided = await fetch(`${srv.url}/agents/scripted-desk/${name}/decide`, {
      method: "POST",
      body: JSON.stringify({ runId: asked.runId, callId: asked.pending[0]!.callId, approve: true }),
    });
    const outcome = (await decided.json()) as { status: string; output: string };
    assert.equal(outcome.status, "done");
    assert.match(outcome.output, /handled/);
    const again = await connect(name);
    assert.deepEqual(await again.c.call("refunds"), [{ order_id: "o-17", amount: 30 }], "the approved tool ran, once");
    assert.deepEqual(await again.c.call("pending"), []);
    const second = await fetch(`${srv.url}/agents/scripted-desk/${name}/decide`, {
      method: "POST",
      body: JSON.stringify({ runId: asked.runId, callId: asked.pending[0]!.callId, approve: true }),
    });
    assert.equal(second.status, 409, "a run cannot be decided twice");
  });

  it("does not run a rejected tool", async () => {
    const { c } = await connect(`desk-${uid()}`);
    const asked = (await c.call("ask", ["refund please"], { timeout: 60_000 } as never)) as unknown as { runId: string; pending: Pending[] };
    const outcome = (await c.call("decide", [asked.runId, asked.pending[0]!.callId, false], { timeout: 60_000 } as never)) as { status: string };
    assert.equal(outcome.status, "done");
    assert.deepEqual(await c.call("refunds"), []);
  });
});
