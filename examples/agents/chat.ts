import { Agent as ModelAgent, run, RunState, setTracingDisabled, type AgentInputItem, type Model, type Tool } from "@openai/agents";
import { getToolName, isToolUIPart, type UIMessage, type UIMessageChunk } from "ai";
import { ChatAgent, openaiAgentChunks, type ChatMessageOptions } from "../../src/agents/index.js";
import { sandboxTools } from "../../src/openai/index.js";
import { DemoModel } from "./chat-model.js";
import { openAIModelName } from "./openai-model.js";
import { pageScriptResponse } from "./page-script.js";

const INSTRUCTIONS =
  "You are a helpful engineer with a Linux computer of your own (a Burrow sandbox): run shell commands, read and write files, " +
  "and run Python, JavaScript or TypeScript there to answer. Work in /workspace. Keep answers short; show what you ran.";

/** What `answer` reads of a streamed run (`run(agent, input, { stream: true })`). */
type StreamedRun = Parameters<typeof openaiAgentChunks>[0] & { completed: Promise<void>; interruptions: { rawItem: unknown }[]; state: { toString(): string } };

/**
 * The example chat: a chat agent whose answers come from an OpenAI Agents SDK
 * run, with this agent's own sandbox as the run's tools (shell, files, code).
 * Shell commands wait for the person's approval: the run stops, its RunState
 * is kept in this agent's SQLite (so an approval may come after a restart),
 * and the decision resumes it in the same message. GET /agents/sandbox-chat/<name>
 * is the page (React and the unmodified useAgentChat, built into dist/ by
 * scripts/build.mjs). With OPENAI_API_KEY it talks to OpenAI (OPENAI_BASE_URL and
 * OPENAI_MODEL for another endpoint); without one, to a scripted model.
 */
export class SandboxChat extends ChatAgent {
  maxPersistedMessages = 200;
  /** Made once per instance: run_code keeps one interpreter per language across the chat's turns. */
  private tools: Tool[] | undefined;

  override onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS paused_runs (call_id TEXT PRIMARY KEY, state TEXT NOT NULL)`;
  }

  /** The model of every run. */
  protected model(): Model | string {
    if (process.env.OPENAI_API_KEY) return openAIModelName();
    setTracingDisabled(true);
    return new DemoModel();
  }

  private assistant(): ModelAgent {
    this.tools ??= sandboxTools(this.sandbox(), { needsApproval: ["shell"] });
    return new ModelAgent({ name: "sandbox-chat", instructions: INSTRUCTIONS, tools: this.tools, model: this.model() });
  }

  async onChatMessage(messages: UIMessage[], { signal, continuation }: ChatMessageOptions) {
    const agent = this.assistant();
    if (!continuation) return this.answer(await run(agent, toAgentInput(messages), { stream: true, signal }));
    // A person approved or rejected a shell command: resume the run that stopped for it.
    const state = await this.decided(agent, messages.findLast((m) => m.role === "assistant"));
    if (state) return this.answer(await run(agent, state, { stream: true, signal }));
  }

  /** The run's chunks; a run that stopped for approvals is kept until the person decides. */
  private async *answer(result: StreamedRun): AsyncGenerator<UIMessageChunk> {
    yield* openaiAgentChunks(result);
    await result.completed;
    if (!result.interruptions.length) return;
    const state = result.state.toString();
    for (const item of result.interruptions) {
      const callId = (item.rawItem as { callId?: string }).callId;
      if (callId) this.sql`INSERT OR REPLACE INTO paused_runs (call_id, state) VALUES (${callId}, ${state})`;
    }
  }

  /** The paused run with the decisions in `message` applied, or undefined when none of its calls is decided. */
  private async decided(agent: ModelAgent, message: UIMessage | undefined): Promise<RunState<unknown, ModelAgent> | undefined> {
    const decisions = new Map<string, boolean>();
    for (const p of message?.parts ?? []) {
      const part = p as { toolCallId?: string; state?: string; approval?: { approved?: boolean } };
      if (part.toolCallId && part.state === "approval-responded") decisions.set(part.toolCallId, part.approval?.approved === true);
    }
    for (const callId of decisions.keys()) {
      const row = this.sql<{ state: string }>`SELECT state FROM paused_runs WHERE call_id = ${callId}`[0];
      if (!row) continue;
      const state = await RunState.fromString(agent, row.state);
      for (const item of state.getInterruptions()) {
        const id = (item.rawItem as { callId?: string }).callId ?? "";
        if (!decisions.has(id)) continue; // still waiting: the resumed run asks again
        if (decisions.get(id)) state.approve(item);
        else state.reject(item);
        this.sql`DELETE FROM paused_runs WHERE call_id = ${id}`;
      }
      return state;
    }
    return undefined;
  }

  override onRequest(request: Request): Response {
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    if (request.method !== "GET") return new Response("GET the page, or chat over the WebSocket", { status: 405 });
    if (path.endsWith("/chat.js")) return pageScriptResponse("chat-page.js");
    if (path.split("/").length !== 4) return new Response("not found: the page is GET /agents/sandbox-chat/<name>", { status: 404 });
    return new Response(page(path), { headers: { "content-type": "text/html; charset=utf-8" } });
  }
}

/** The conversation as model input: text as messages, finished tool calls as calls with their results. */
function toAgentInput(messages: UIMessage[]): AgentInputItem[] {
  const items: AgentInputItem[] = [];
  for (const m of messages) {
    for (const p of m.parts) {
      if (p.type === "text" && p.text) {
        if (m.role === "assistant") items.push({ role: "assistant", status: "completed", content: [{ type: "output_text", text: p.text }] });
        else if (m.role === "system") items.push({ role: "system", content: p.text });
        else items.push({ role: "user", content: p.text });
      } else if (m.role === "assistant" && isToolUIPart(p) && (p.state === "output-available" || p.state === "output-error" || p.state === "output-denied")) {
        const name = getToolName(p);
        const output = p.state === "output-available" ? (typeof p.output === "string" ? p.output : JSON.stringify(p.output)) : p.state === "output-error" ? `error: ${p.errorText}` : "the person did not approve this call";
        items.push({ type: "function_call", callId: p.toolCallId, name, arguments: JSON.stringify(p.input ?? {}), status: "completed" });
        items.push({ type: "function_call_result", callId: p.toolCallId, name, status: "completed", output });
      }
    }
  }
  return items;
}

const page = (path: string) => `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox chat</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}
main{max-width:46em;margin:0 auto;padding:1em 1em 8em}
h1{font-size:1.1em;margin:.5em 0 1em}h1 small{font-weight:normal;color:#777}
.message{margin:.6em 0;padding:.6em .9em;border-radius:8px;background:#fff;box-shadow:0 1px 2px #0001}
.message.user{background:#e6eefc;margin-left:4em}.message .text{white-space:pre-wrap}
.tool{margin:.4em 0;padding:.4em .6em;border-left:3px solid #b8b8b8;background:#fafafa;font-size:.92em}
.tool pre{margin:.3em 0;white-space:pre-wrap;font-size:.95em}.tool code{font-weight:600}
form{position:fixed;bottom:0;left:0;right:0;background:#fff;border-top:1px solid #ddd;padding:.8em}
form div{max-width:46em;margin:0 auto;display:flex;gap:.5em}form input{flex:1;font:inherit;padding:.5em}
button{font:inherit;padding:.4em .9em;cursor:pointer}#status{color:#777;font-size:.85em}
</style>
<div id="root"></div><script type="module" src="${path}/chat.js"></script></html>`;
