import type { UIMessageChunk } from "ai";

/** The parts of an `@openai/agents` stream event this reads (structural, so no runtime import). */
interface RunEvent {
  type: string;
  data?: { type?: string; delta?: unknown };
  name?: string;
  item?: { type?: string; output?: unknown; rawItem?: Record<string, unknown> };
}

const parseArgs = (raw: unknown): unknown => {
  if (typeof raw !== "string") return raw ?? {};
  try {
    return JSON.parse(raw);
  } catch {
    return { input: raw };
  }
};

/**
 * The UI message chunks of an `@openai/agents` streamed run
 * (`run(agent, input, { stream: true })`): text as it streams, each tool
 * call with its input, each tool result, and a tool call that waits for a
 * person's approval (`needsApproval`) as a `tool-approval-request` whose
 * approval id is the call id, so a ChatAgent can return
 * `openaiAgentChunks(await run(agent, input, { stream: true, signal }))`.
 * The run's reasoning loop (tools, sandboxes, handoffs) stays the SDK's.
 */
export async function* openaiAgentChunks(run: AsyncIterable<RunEvent>): AsyncGenerator<UIMessageChunk> {
  let text: string | undefined;
  let n = 0;
  const endText = function* (): Generator<UIMessageChunk> {
    if (text) yield { type: "text-end", id: text };
    text = undefined;
  };
  yield { type: "start-step" };
  for await (const ev of run) {
    if (ev.type === "raw_model_stream_event" && ev.data?.type === "output_text_delta" && typeof ev.data.delta === "string") {
      if (!text) {
        text = `text-${n++}`;
        yield { type: "text-start", id: text };
      }
      yield { type: "text-delta", id: text, delta: ev.data.delta };
      continue;
    }
    if (ev.type !== "run_item_stream_event" || !ev.item) continue;
    const raw = ev.item.rawItem ?? {};
    const callId = String(raw.callId ?? raw.call_id ?? raw.id ?? `call-${n++}`);
    if (ev.name === "message_output_created") yield* endText();
    else if (ev.name === "tool_called") {
      yield* endText();
      yield { type: "tool-input-available", toolCallId: callId, toolName: String(raw.name ?? raw.type ?? "tool"), input: parseArgs(raw.arguments ?? raw.action ?? raw.input) };
    } else if (ev.name === "tool_approval_requested") {
      // The run stops here (its result holds the interruption); resume it with RunState after the person decides.
      yield { type: "tool-approval-request", approvalId: callId, toolCallId: callId };
    } else if (ev.name === "tool_output") {
      yield { type: "tool-output-available", toolCallId: callId, output: ev.item.output ?? raw.output ?? null };
    }
  }
  yield* endText();
  yield { type: "finish-step" };
  yield { type: "finish" };
}
