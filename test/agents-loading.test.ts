import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "./helpers/server.js";

const GATED = new URL("./fixtures/gated-agents.ts", import.meta.url).pathname;
const BROKEN = new URL("./fixtures/broken-agents.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("agents modules load while the server listens", () => {
  const servers: TestServer[] = [];
  const scratch = mkdtempSync(join(tmpdir(), "burrow-agents-gate-"));
  after(async () => {
    for (const s of servers) await s.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("serves the API before a slow agents module has loaded, and agent requests made meanwhile are answered once it has", async () => {
    const gate = join(scratch, "open");
    const srv = await startTestServer({ args: ["--agents", GATED], env: { BURROW_TEST_AGENTS_GATE: gate } });
    servers.push(srv);
    // Healthy, with the module still waiting for its gate: the API answers now.
    assert.ok(!existsSync(gate));
    assert.equal((await srv.api("GET", "/v1/sandboxes")).status, 200);
    assert.deepEqual(await (await fetch(`${srv.url}/healthz`)).json(), { ok: true, agents: "loading" });
    assert.doesNotMatch(srv.log, /agents: /, "the agent URLs are printed once the classes are known");
    // An HTTP request and a WebSocket client for an agent wait instead of failing.
    let answered = false;
    const request = fetch(`${srv.url}/agents/counter/early`).then(async (r) => ((answered = true), { status: r.status, body: await r.json() }));
    const client = new AgentClient({ agent: "Counter", name: "early", host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never } as never);
    // A path that only looks like an agent's (too few segments) does not wait: the API's own 404.
    const short = await srv.api("GET", "/agents/counter");
    assert.equal(short.status, 404);
    assert.equal(((await short.json()) as { code: string }).code, "NOT_FOUND");
    await sleep(300);
    assert.equal(answered, false, "the agent request waits for its class");
    writeFileSync(gate, "");
    const r = await request;
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { name: "early", count: 0, method: "GET" });
    await client.ready;
    assert.equal(await client.call("increment", [2]), 2);
    client.close();
    assert.deepEqual(await (await fetch(`${srv.url}/healthz`)).json(), { ok: true, agents: "ready" });
    assert.match(srv.log, /agents: .*\/agents\/counter\/<name>/);
  });

  it("exits with the module's error when an agents module fails to load, and cleans up its mounts", async () => {
    let srv: TestServer | undefined;
    let log = "";
    try {
      srv = await startTestServer({ args: ["--agents", BROKEN] });
      servers.push(srv);
      const child = srv.child;
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
      assert.equal(child.exitCode, 1);
      log = srv.log;
      const dataDir = srv.dataDir;
      const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]);
      assert.deepEqual(mounts.filter((m) => m === dataDir || m?.startsWith(`${dataDir}/`)), [], "the server released its mounts before exiting");
    } catch (err) {
      // It may also exit before it ever answered /healthz.
      log = (err as Error).message;
      assert.match(log, /exited with 1/);
    }
    assert.match(log, /burrow: the agents module failed to load: this agents module is broken on purpose/);
  });
});
