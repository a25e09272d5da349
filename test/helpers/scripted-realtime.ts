import { createServer, type Server } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * A stand-in for OpenAI's realtime WebSocket API (which cannot run here): it
 * says session.created, records what the client sends, and once it has heard
 * `listenFrames` audio appends it plays one scripted turn: the caller's words
 * as a user item, then an assistant reply with audio deltas and a transcript.
 */
export interface ScriptedRealtime {
  url: string;
  /** Every event the client sent, parsed. */
  received: { type: string; [k: string]: unknown }[];
  /** The base64 audio of each input_audio_buffer.append. */
  audioIn: string[];
  /** The base64 audio deltas it sent. */
  audioOut: string[];
  authorization: string[];
  close(): Promise<void>;
}

export async function startScriptedRealtime(script: { userSaid: string; reply: string; listenFrames?: number }): Promise<ScriptedRealtime> {
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server });
  const out: ScriptedRealtime = { url: "", received: [], audioIn: [], audioOut: [], authorization: [], close: async () => {} };
  let n = 0;
  const id = (p: string) => `${p}_${++n}`;
  wss.on("connection", (ws: WebSocket, req) => {
    out.authorization.push(req.headers.authorization ?? "");
    const send = (e: object) => ws.send(JSON.stringify({ event_id: id("event"), ...e }));
    send({ type: "session.created", session: { type: "realtime", object: "realtime.session", id: id("sess"), model: "gpt-realtime" } });
    let replied = false;
    ws.on("message", (data) => {
      const e = JSON.parse(data.toString()) as { type: string; audio?: string };
      out.received.push(e);
      if (e.type === "session.update") send({ type: "session.updated", session: { type: "realtime", object: "realtime.session", id: id("sess") } });
      if (e.type !== "input_audio_buffer.append" || !e.audio) return;
      out.audioIn.push(e.audio);
      if (replied || out.audioIn.length < (script.listenFrames ?? 3)) return;
      replied = true;
      const user = id("item");
      const assistant = id("item");
      const response = id("resp");
      const userItem = { id: user, object: "realtime.item", type: "message", role: "user", status: "completed", content: [{ type: "input_audio", transcript: script.userSaid }] };
      send({ type: "input_audio_buffer.committed", item_id: user, previous_item_id: null });
      send({ type: "conversation.item.added", previous_item_id: null, item: userItem });
      send({ type: "conversation.item.done", previous_item_id: null, item: userItem });
      send({ type: "response.created", response: { id: response, object: "realtime.response", status: "in_progress", output: [] } });
      send({ type: "conversation.item.added", previous_item_id: user, item: { id: assistant, object: "realtime.item", type: "message", role: "assistant", status: "in_progress", content: [] } });
      for (const bytes of [Buffer.alloc(160, 0x2a), Buffer.alloc(160, 0x2b)]) {
        const delta = bytes.toString("base64");
        out.audioOut.push(delta);
        send({ type: "response.output_audio.delta", response_id: response, item_id: assistant, output_index: 0, content_index: 0, delta });
      }
      send({ type: "response.output_audio.done", response_id: response, item_id: assistant, output_index: 0, content_index: 0 });
      send({ type: "response.output_audio_transcript.done", response_id: response, item_id: assistant, output_index: 0, content_index: 0, transcript: script.reply });
      const done = { id: assistant, object: "realtime.item", type: "message", role: "assistant", status: "completed", content: [{ type: "output_audio", transcript: script.reply }] };
      send({ type: "conversation.item.done", previous_item_id: user, item: done });
      send({ type: "response.output_item.done", response_id: response, output_index: 0, item: done });
      send({ type: "response.done", response: { id: response, object: "realtime.response", status: "completed", output: [done] } });
    });
  });
  const port = await new Promise<number>((r) => server.listen(0, "127.0.0.1", () => r((server.address() as { port: number }).port)));
  out.url = `ws://127.0.0.1:${port}/v1/realtime?model=gpt-realtime`;
  out.close = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => server.close(r));
  };
  return out;
}

/**
 * A scripted Twilio Media Stream (Twilio cannot run here): connected, start,
 * `frames` inbound media frames, then it waits; marks the server sends are
 * echoed back as Twilio does once their audio has played; `stop()` ends it.
 */
export function twilioMessages(streamSid: string, frames: Buffer[]): object[] {
  return [
    { event: "connected", protocol: "Call", version: "1.0.0" },
    {
      event: "start",
      sequenceNumber: "1",
      streamSid,
      start: { streamSid, accountSid: "AC0000", callSid: "CA0000", tracks: ["inbound"], customParameters: {}, mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } },
    },
    ...frames.map((f, i) => ({
      event: "media",
      sequenceNumber: String(i + 2),
      streamSid,
      media: { track: "inbound", chunk: String(i + 1), timestamp: String(i * 20), payload: f.toString("base64") },
    })),
  ];
}
