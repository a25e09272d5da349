import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { AgentClient } from "agents/client";
import { AgentHost } from "../src/agents/index.js";
import { PhoneDesk, type PhoneDeskState } from "../examples/agents/phone-desk.js";
import { startScriptedRealtime, twilioMessages, type ScriptedRealtime } from "./helpers/scripted-realtime.js";

const waitFor = async <T>(what: string, f: () => T | undefined | false, ms = 10_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("examples/agents/phone-desk.ts: a phone call's media stream in an agent (scripted Twilio and realtime servers)", () => {
  let dir: string;
  let host: AgentHost;
  let server: Server;
  let port: number;
  let realtime: ScriptedRealtime;
  const saved = { url: process.env.OPENAI_REALTIME_URL, key: process.env.OPENAI_API_KEY };

  before(async () => {
    realtime = await startScriptedRealtime({ userSaid: "My order never arrived", reply: "Sorry to hear that. What is your order number?" });
    process.env.OPENAI_REALTIME_URL = realtime.url;
    process.env.OPENAI_API_KEY = "sk-scripted";
    dir = mkdtempSync(join(tmpdir(), "burrow-phone-"));
    host = new AgentHost({ dataDir: dir, classes: [PhoneDesk] });
    server = createServer((req, res) => void (host.handleRequest(req, res) || res.writeHead(404).end()));
    server.on("upgrade", (req, socket, head) => void (host.handleUpgrade(req, socket, head) || socket.destroy()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    host?.close();
    await new Promise((r) => server?.close(r));
    await realtime?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of [["OPENAI_REALTIME_URL", saved.url], ["OPENAI_API_KEY", saved.key]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("carries audio both ways between the call and the realtime session, and mirrors the conversation into the state", async () => {
    // A page watching the desk, as the agent's own page does: over the agents protocol.
    const states: PhoneDeskState[] = [];
    const watcher = new AgentClient({ agent: "PhoneDesk", name: "shop", host: `127.0.0.1:${port}`, WebSocket: WebSocket as never, onStateUpdate: (s: unknown) => states.push(s as PhoneDeskState) } as never);
    await watcher.ready;

    const call = new WebSocket(`ws://127.0.0.1:${port}/agents/phone-desk/shop/media-stream`);
    const fromDesk: { event: string; media?: { payload: string }; mark?: { name: string }; streamSid?: string }[] = [];
    call.on("message", (d) => {
      const m = JSON.parse(d.toString());
      fromDesk.push(m);
      // Twilio echoes a mark once the audio before it has played.
      if (m.event === "mark") call.send(JSON.stringify({ event: "mark", streamSid: "MZ1", sequenceNumber: "99", mark: m.mark }));
    });
    await new Promise((r, j) => call.once("open", r).once("error", j));
    const frames = [0x11, 0x12, 0x13, 0x14].map((b) => Buffer.alloc(160, b));
    for (const m of twilioMessages("MZ1", frames)) call.send(JSON.stringify(m));

    // Caller -> model: each media frame's audio reached the realtime session.
    await waitFor("the caller's audio at the realtime server", () => realtime.audioIn.length >= 3);
    const heard = Buffer.concat(realtime.audioIn.map((a) => Buffer.from(a, "base64")));
    for (const f of frames.slice(0, 3)) assert.ok(heard.includes(f), "a frame's bytes arrived as they were sent");
    assert.deepEqual(realtime.authorization, ["Bearer sk-scripted"]);
    const update = realtime.received.find((e) => e.type === "session.update") as { session?: { audio?: { input?: { format?: unknown } } } } | undefined;
    assert.ok(update, "the session was configured");

    // Model -> caller: the reply's audio came down the call as Twilio media frames for this stream.
    await waitFor("the reply's audio on the call", () => fromDesk.filter((m) => m.event === "media").length >= 2);
    const played = fromDesk.filter((m) => m.event === "media");
    assert.deepEqual(played.map((m) => m.media!.payload), realtime.audioOut);
    assert.ok(played.every((m) => m.streamSid === "MZ1"));
    assert.ok(!fromDesk.some((m) => "type" in m), "no agents protocol frame on the media stream");

    // The conversation, mirrored into the state and pushed to the page.
    const lines = await waitFor("both lines in the state", () => {
      const last = states.at(-1);
      const c = last && Object.values(last.calls)[0];
      return c && c.lines.length >= 2 && c.lines.every((l) => l.text) ? c.lines : undefined;
    });
    assert.deepEqual(lines.map((l) => [l.role, l.text]), [["user", "My order never arrived"], ["assistant", "Sorry to hear that. What is your order number?"]]);

    // The page and the JSON view.
    const page = await fetch(`http://127.0.0.1:${port}/agents/phone-desk/shop`);
    assert.match(await page.text(), /Phone desk/);
    const json = (await (await fetch(`http://127.0.0.1:${port}/agents/phone-desk/shop?format=json`)).json()) as PhoneDeskState;
    assert.equal(Object.values(json.calls)[0]!.lines.length, 2);

    // Hanging up ends the call in the state.
    call.send(JSON.stringify({ event: "stop", streamSid: "MZ1", sequenceNumber: "100", stop: { accountSid: "AC0000", callSid: "CA0000" } }));
    call.close();
    await waitFor("the call to end", () => {
      const c = states.at(-1) && Object.values(states.at(-1)!.calls)[0];
      return c?.endedAt;
    });
    watcher.close();
  });
});
