/**
 * "Call my agent": a phone call's media stream handed to the OpenAI realtime
 * API inside an agent. Point a Twilio number's <Stream> at
 *
 *   wss://<your host>/agents/phone-desk/<desk name>/media-stream
 *
 * and the `PhoneDesk` agent runs a `RealtimeAgent` in a `RealtimeSession`
 * over that connection through `TwilioRealtimeTransportLayer`: the caller's
 * audio goes to the model and the model's audio back down the call. The
 * conversation is mirrored into the agent's state, so the agent's page
 * (`GET /agents/phone-desk/<desk name>`) and any `AgentClient` see it live.
 *
 * With `OPENAI_API_KEY` it talks to OpenAI (`OPENAI_REALTIME_MODEL`, default
 * gpt-realtime). `OPENAI_REALTIME_URL` points the session elsewhere: the
 * tests use a scripted realtime server and a scripted Twilio stream, since
 * neither service can run here (test/phone-desk.test.ts).
 */
import { TwilioRealtimeTransportLayer } from "@openai/agents-extensions";
import { RealtimeAgent, RealtimeSession, type RealtimeItem } from "@openai/agents/realtime";
import { Agent, type Connection, type ConnectionContext } from "../../src/agents/index.js";

export interface CallLine {
  itemId: string;
  role: "user" | "assistant" | "system";
  text: string;
  status: string;
}

export interface Call {
  startedAt: string;
  endedAt: string | null;
  lines: CallLine[];
}

export interface PhoneDeskState {
  calls: Record<string, Call>;
}

const isMediaStream = (ctx: ConnectionContext) => new URL(ctx.request.url).pathname.endsWith("/media-stream");

export class PhoneDesk extends Agent<unknown, PhoneDeskState> {
  initialState: PhoneDeskState = { calls: {} };
  private readonly sessions = new Map<string, RealtimeSession>();

  /** The media stream speaks Twilio's protocol only: no agents protocol frames on it. */
  shouldSendProtocolMessages(_conn: Connection, ctx: ConnectionContext): boolean {
    return !isMediaStream(ctx);
  }

  async onConnect(conn: Connection, ctx: ConnectionContext): Promise<void> {
    if (!isMediaStream(ctx)) return;
    // The transport reads the stream through the connection's listeners; onMessage has nothing to do with it.
    conn.forwardToOnMessage = false;
    this.setCall(conn.id, { startedAt: new Date().toISOString(), endedAt: null, lines: [] });
    const transport = new TwilioRealtimeTransportLayer({ twilioWebSocket: conn as unknown as WebSocket });
    const agent = new RealtimeAgent({
      name: "Phone desk",
      instructions: "You answer the phone for a small shop. Be brief and friendly; ask for the order number when someone has a problem with an order.",
    });
    const session = new RealtimeSession(agent, { transport, model: process.env.OPENAI_REALTIME_MODEL ?? "gpt-realtime" });
    session.on("history_updated", (history) => this.mirror(conn.id, history));
    session.on("error", (e) => console.error(`phone desk ${this.name}: realtime session error:`, e.error));
    this.sessions.set(conn.id, session);
    await session.connect({
      apiKey: process.env.OPENAI_API_KEY ?? "",
      ...(process.env.OPENAI_REALTIME_URL ? { url: process.env.OPENAI_REALTIME_URL } : {}),
    });
  }

  onClose(conn: Connection): void {
    const session = this.sessions.get(conn.id);
    if (!session) return;
    this.sessions.delete(conn.id);
    session.close();
    const call = this.state.calls[conn.id];
    if (call) this.setCall(conn.id, { ...call, endedAt: new Date().toISOString() });
  }

  /** The desk's page: the calls, live (it follows the agent's state over the agents protocol); `?format=json` for the state. */
  onRequest(request: Request): Response {
    if (new URL(request.url).searchParams.get("format") === "json") return Response.json(this.state);
    return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
  }

  private mirror(callId: string, history: RealtimeItem[]): void {
    const call = this.state.calls[callId];
    if (!call) return;
    const lines: CallLine[] = [];
    for (const item of history) {
      if (item.type !== "message") continue;
      const text = item.content
        .map((c) => ("transcript" in c && c.transcript ? c.transcript : "text" in c && c.text ? c.text : ""))
        .join("");
      lines.push({ itemId: item.itemId, role: item.role, text, status: "status" in item ? String(item.status) : "" });
    }
    this.setCall(callId, { ...call, lines });
  }

  private setCall(callId: string, call: Call): void {
    this.setState({ calls: { ...this.state.calls, [callId]: call } });
  }
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>Phone desk</title>
<style>body{font:15px system-ui;margin:2em;max-width:48em}.call{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;margin:1em 0}.user{color:#155}.assistant{color:#515}</style>
<h1>Phone desk</h1><div id="calls">waiting for calls…</div>
<script>
const ws = new WebSocket(location.href.replace(/^http/, "ws").split("?")[0]);
const esc = (s) => String(s).replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.type !== "cf_agent_state") return;
  const calls = Object.entries(m.state.calls).reverse();
  document.getElementById("calls").innerHTML = calls.length ? calls.map(([id, c]) =>
    '<div class="call"><b>call ' + esc(id.slice(0, 8)) + '</b> ' + esc(c.startedAt) + (c.endedAt ? ' – ended' : ' – live') +
    c.lines.map((l) => '<p class="' + esc(l.role) + '"><b>' + esc(l.role) + ':</b> ' + esc(l.text) + '</p>').join('') + '</div>').join('') : "no calls yet";
};
</script>`;
