import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "./helpers/server.js";

const FIXTURES = new URL("./fixtures/agents.ts", import.meta.url).pathname;

/** The triage example, offline: scripted models, real tools, real Burrow agents calling each other through stubs. */
describe("triage example: a triage agent hands questions to two specialists with their own memory", () => {
  let srv: TestServer;
  const clients: AgentClient[] = [];
  const connect = async (agent: string, name: string) => {
    const c = new AgentClient({ agent, name, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never } as never);
    clients.push(c);
    await c.ready;
    return c;
  };
  before(async () => {
    srv = await startTestServer({ args: ["--agents", FIXTURES] });
  });
  after(async () => {
    for (const c of clients) c.close();
    await srv.cleanup();
  });

  it("routes each question to the right specialist, which remembers only its own", async () => {
    const triage = await connect("ScriptedTriage", "front-desk");
    const a = (await triage.call("route", ["Why was I charged twice on my invoice?"], { timeout: 60_000 } as never)) as string;
    assert.match(a, /^relayed: /);
    const billingAnswer = JSON.parse(a.slice("relayed: ".length));
    assert.equal(billingAnswer.specialist, "billing");
    assert.equal(billingAnswer.answer, "billing answer to: Why was I charged twice on my invoice?");
    const b = (await triage.call("route", ["The app crashes on start"], { timeout: 60_000 } as never)) as string;
    assert.equal(JSON.parse(b.slice("relayed: ".length)).specialist, "tech");
    await triage.call("route", ["Please refund my money"], { timeout: 60_000 } as never);

    const billing = await connect("ScriptedSpecialist", "billing");
    const tech = await connect("ScriptedSpecialist", "tech");
    assert.deepEqual(await billing.call("history"), ["Why was I charged twice on my invoice?", "Please refund my money"]);
    assert.deepEqual(await tech.call("history"), ["The app crashes on start"]);
  });
});
