import { Usage, type Model, type ModelRequest, type ModelResponse } from "@openai/agents";
import { randomUUID } from "node:crypto";

/** The normalised stream events a Model yields (the `@openai/agents` protocol): text deltas, then the finished response. */
type StreamEvent = Awaited<ReturnType<Model["getStreamedResponse"]>> extends AsyncIterable<infer E> ? E : never;
type OutputItem = ModelResponse["output"][number];
type ResponseDone = Extract<StreamEvent, { type: "response_done" }>;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export const DEMO_HELP =
  "I am the example chat's scripted model: set OPENAI_API_KEY for a real one. " +
  "Ask me to run a command (run uname -a) and I will run it in this chat's sandbox once you approve, " +
  "or to count to 30 for a long answer.";

/**
 * A small scripted model for the example chat when no OPENAI_API_KEY is set
 * (and in tests, where no model can be reached). It reads the conversation
 * the run hands it and answers by rule, token by token with a pause between
 * tokens, as a real model streams:
 * - "run <command>": a call of the `shell` tool with that command;
 * - after a tool result: its exit code and last line (or a note that it was not approved);
 * - "count to N": the numbers 1 to N;
 * - anything else: what it can do.
 */
export class DemoModel implements Model {
  constructor(private readonly msPerToken = 40) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    return { usage: new Usage(), output: [this.decide(request)], responseId: `demo-${randomUUID()}` };
  }

  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    const item = this.decide(request);
    yield { type: "response_started" };
    if (item.type === "message") {
      const text = (item.content[0] as { text: string }).text;
      for (const token of text.split(/(?<= )/)) {
        if (request.signal?.aborted) break;
        yield { type: "output_text_delta", delta: token };
        await sleep(this.msPerToken, request.signal);
      }
    }
    yield { type: "response_done", response: { id: `demo-${randomUUID()}`, usage: { requests: 1, inputTokens: 0, outputTokens: 0, totalTokens: 0 }, output: [item] as ResponseDone["response"]["output"] } };
  }

  private decide(request: ModelRequest): OutputItem {
    const items = typeof request.input === "string" ? [{ role: "user", content: request.input }] : request.input;
    const last = items.at(-1) as { type?: string; role?: string; content?: unknown; output?: unknown } | undefined;
    if (last?.type === "function_call_result") {
      const output = last.output as string | { text?: string };
      const out = typeof output === "string" ? output : (output.text ?? JSON.stringify(output));
      if (/not approved/i.test(out)) return say("All right, I did not run it.");
      const code = /^exit code (\d+)/.exec(out)?.[1];
      const lastLine = out.trim().split("\n").at(-1) ?? "";
      return say(code === undefined ? `The tool answered: ${out.trim()}` : `The command finished with exit code ${code}. Its output ends with: ${lastLine}`);
    }
    const text = last?.role === "user" ? textOf(last.content).trim() : "";
    const run = /^run\s+(.+)$/is.exec(text);
    if (run) return { type: "function_call", callId: `call-${randomUUID().slice(0, 8)}`, name: "shell", status: "completed", arguments: JSON.stringify({ command: run[1], cwd: null, timeoutMs: null }) };
    const count = /^count to (\d+)$/i.exec(text);
    if (count) return say(Array.from({ length: Math.min(Number(count[1]), 1000) }, (_, i) => `${i + 1} `).join(""));
    return say(DEMO_HELP);
  }
}

function say(text: string): OutputItem {
  return { type: "message", role: "assistant", status: "completed", id: `msg-${randomUUID().slice(0, 8)}`, content: [{ type: "output_text", text }] };
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((c: { text?: string }) => c.text ?? "").join("");
}
