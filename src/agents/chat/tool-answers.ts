import type { UIMessage } from "ai";
import { ChatFrame, type Incoming } from "./protocol.js";

type ToolFrame = Extract<Incoming, { type: typeof ChatFrame.TOOL_APPROVAL | typeof ChatFrame.TOOL_RESULT }>;

/**
 * The message with a person's tool approval, or a client tool's result,
 * applied to the tool call the frame names: `approval-responded` with the
 * decision, or `output-available` / `output-error`. Other parts stay as they are.
 */
export function withToolAnswer(message: UIMessage, f: ToolFrame): UIMessage {
  const parts = message.parts.map((p) => {
    const part = p as Record<string, unknown> & { toolCallId?: string; approval?: Record<string, unknown> };
    if (part.toolCallId !== f.toolCallId) return p;
    if (f.type === ChatFrame.TOOL_APPROVAL) return { ...part, state: "approval-responded", approval: { ...(part.approval ?? { id: f.toolCallId }), approved: f.approved } };
    if (f.state === "output-error") return { ...part, state: "output-error", errorText: f.errorText ?? "tool failed" };
    return { ...part, state: "output-available", output: f.output };
  }) as UIMessage["parts"];
  return { ...message, parts };
}

/** The index of the last message holding tool call `toolCallId`, -1 when none does. */
export const messageWithToolCall = (messages: readonly UIMessage[], toolCallId: string): number =>
  messages.findLastIndex((m) => m.parts.some((p) => (p as { toolCallId?: string }).toolCallId === toolCallId));
