import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AgentClient } from "agents/client";
import WebSocket from "ws";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/*
 * Crash safety, measured: the server is killed with SIGKILL at a random point
 * while clients write files, change agent data and start processes, then
 * started again on the same data directory. Nothing it acknowledged may be
 * lost, no file may be torn, and every sandbox it acknowledged must still be
 * there. 20 rounds (CRASH_ROUNDS). Processes outlive a server restart (live
 * restore, checked in test/live-restore.test.ts); here the check for them is
 * only that the restarted server answers.
 */

const FIXTURES = new URL("./fixtures/agents.ts", import.meta.url).pathname;
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
const content = (key: string) => `${key}:${createHash("sha256").update(key).digest("hex")}\n`.repeat(64); // 5 KiB, checkable

describe("crash safety: kill -9 at random points", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ args: ["--agents", FIXTURES] });
  });
  after(() => srv.cleanup());

  it(`loses nothing acknowledged and tears nothing, over ${ROUNDS} rounds`, async () => {
    const files = new Map<string, string>(); // "sandbox:path" -> key acknowledged
    const sandboxes = new Set<string>();
    const notes: string[] = [];
    const agentName = `crash-${Math.random().toString(36).slice(2, 8)}`;
    const boxes = [name("crash-a"), name("crash-b")];
    for (const b of boxes) {
      await srv.burrow.sandbox(b).exec("mkdir -p /workspace/w");
      sandboxes.add(b);
    }
    let written = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let stop = false;
      const writers = boxes.flatMap((b) =>
        [0, 1].map(async (w) => {
          for (let i = 0; !stop; i++) {
            const path = `/workspace/w/r${round}-w${w}-${i % 5}`;
            const key = `${b}:${path}:${round}:${i}`;
            try {
              await srv.burrow.sandbox(b).writeFile(path, content(key));
              files.set(`${b}:${path}`, key);
              written++;
            } catch {
              return; // the server went away mid-request: not acknowledged
            }
          }
        }),
      );
      const agent = (async () => {
        let client: AgentClient | undefined;
        try {
          client = new AgentClient({ agent: "Recorder", name: agentName, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never } as never);
          // Bounded: the kill may come before the agents module has loaded, and the client would wait for the next server.
          await Promise.race([client.ready, new Promise((_, j) => setTimeout(() => j(new Error("not ready")), 3000))]);
          for (let i = 0; !stop; i++) {
            const note = `r${round}-n${i}`;
            await Promise.race([client.call("addNote", [note]), new Promise((_, j) => setTimeout(() => j(new Error("no answer")), 3000))]);
            notes.push(note);
          }
        } catch {
          /* the server went away */
        } finally {
          client?.close();
        }
      })();
      const creator = (async () => {
        const id = name(`c${round}`);
        try {
          await srv.burrow.sandbox(id).exec("true");
          sandboxes.add(id);
          await srv.burrow.sandbox(id).startProcess("sleep 300");
        } catch {
          /* not acknowledged */
        }
      })();
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      await srv.kill9();
      stop = true;
      await Promise.all([...writers, agent, creator]);
      await srv.restart();
    }

    // Every acknowledged write is there, whole; every acknowledged sandbox exists; every acknowledged note is kept.
    for (const [where, key] of files) {
      const [b, path] = where.split(/:(.*)/s) as [string, string];
      const got = (await srv.burrow.sandbox(b).readFile(path)).content;
      if (got !== content(key)) {
        // A later write to the same path may have landed unacknowledged: it must then be whole too.
        const m = /^([^\n]+):[0-9a-f]{64}\n/.exec(got);
        assert.ok(m && got === content(m[1]!), `${where} is torn or lost (expected ${key})`);
        const [, , r, i] = m![1]!.split(":");
        const [, , r0, i0] = key.split(":");
        assert.ok(Number(r) > Number(r0) || (r === r0 && Number(i) > Number(i0)), `${where} holds an older write than the acknowledged ${key}`);
      }
    }
    const listed = new Set((await srv.burrow.list()).map((s) => s.id));
    for (const id of sandboxes) assert.ok(listed.has(id), `sandbox ${id} was acknowledged and is gone`);
    const client = new AgentClient({ agent: "Recorder", name: agentName, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never } as never);
    await client.ready;
    const kept = new Set((await client.call("notes")) as string[]);
    client.close();
    for (const n of notes) assert.ok(kept.has(n), `agent note ${n} was acknowledged and is gone`);
    assert.ok(written > ROUNDS, `the load did work: ${written} writes`);
    console.log(`crash safety: ${ROUNDS} rounds, ${written} acknowledged writes, ${notes.length} agent notes, ${sandboxes.size} sandboxes; none lost, none torn`);
  });
});
