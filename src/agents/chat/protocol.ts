import { z } from "zod";

/**
 * Frame types of the chat protocol that `@cloudflare/ai-chat`'s client
 * (`useAgentChat`) speaks over the agent's WebSocket. The names are the wire
 * facts; the client sends the incoming ones, the server the outgoing ones.
 */
export const ChatFrame = {
  MESSAGES: "cf_agent_chat_messages",
  REQUEST: "cf_agent_use_chat_request",
  RESPONSE: "cf_agent_use_chat_response",
  CLEAR: "cf_agent_chat_clear",
  CANCEL: "cf_agent_chat_request_cancel",
  RESUMING: "cf_agent_stream_resuming",
  RESUME_ACK: "cf_agent_stream_resume_ack",
  RESUME_REQUEST: "cf_agent_stream_resume_request",
  RESUME_NONE: "cf_agent_stream_resume_none",
  STREAM_PENDING: "cf_agent_stream_pending",
  TOOL_RESULT: "cf_agent_tool_result",
  TOOL_APPROVAL: "cf_agent_tool_approval",
  MESSAGE_UPDATED: "cf_agent_message_updated",
  /** Burrow's own: a refused frame, with a stable code. Clients that do not know it ignore it. */
  ERROR: "cf_agent_chat_error",
} as const;

const CHAT_TYPES = new Set<string>(Object.values(ChatFrame));

/** Whether a parsed frame belongs to the chat protocol (anything else goes to the agent's own onMessage). */
export const isChatFrame = (msg: unknown): msg is { type: string } =>
  typeof msg === "object" && msg !== null && typeof (msg as { type?: unknown }).type === "string" && CHAT_TYPES.has((msg as { type: string }).type);

/** A UI message as the client sends it: checked loosely (parts are the `ai` package's, many kinds). */
export const uiMessage = z
  .object({
    id: z.string().min(1).max(256),
    role: z.enum(["system", "user", "assistant"]),
    parts: z.array(z.looseObject({ type: z.string() })),
    metadata: z.unknown().optional(),
  })
  .loose();

const id = z.string().min(1).max(256);

export const incoming = z.discriminatedUnion("type", [
  z.object({ type: z.literal(ChatFrame.REQUEST), id, init: z.looseObject({ method: z.string().optional(), body: z.string().optional() }) }),
  z.object({ type: z.literal(ChatFrame.MESSAGES), messages: z.array(uiMessage) }),
  z.object({ type: z.literal(ChatFrame.CLEAR) }),
  z.object({ type: z.literal(ChatFrame.CANCEL), id }),
  z.object({ type: z.literal(ChatFrame.RESUME_REQUEST), probeId: z.string().max(256).optional() }),
  z.object({ type: z.literal(ChatFrame.RESUME_ACK), id }),
  z.object({
    type: z.literal(ChatFrame.TOOL_RESULT),
    toolCallId: id,
    toolName: z.string().max(256).optional(),
    output: z.unknown().optional(),
    state: z.enum(["output-available", "output-error"]).optional(),
    errorText: z.string().optional(),
    autoContinue: z.boolean().optional(),
  }),
  z.object({ type: z.literal(ChatFrame.TOOL_APPROVAL), toolCallId: id, approved: z.boolean(), autoContinue: z.boolean().optional() }),
]);
export type Incoming = z.infer<typeof incoming>;

/** The JSON body of a chat request (`init.body`): the transcript plus whatever the client adds. */
export const requestBody = z.looseObject({
  messages: z.array(uiMessage),
  trigger: z.string().optional(),
});

/** One message, serialised, may be at most this big: it is one SQLite row. */
export const MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

/**
 * A WebSocket message read as a chat frame: undefined when it is not one (it
 * goes to the agent's onMessage), `{refused}` with a sentence (and the
 * request id a refused request names) when it is one but malformed.
 */
export function readChatFrame(data: string | Buffer): { frame: Incoming } | { refused: string; requestId?: string } | undefined {
  if (typeof data !== "string") return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isChatFrame(raw)) return undefined;
  const parsed = incoming.safeParse(raw);
  if (parsed.success) return { frame: parsed.data };
  const rawId = (raw as { id?: unknown }).id;
  const requestId = typeof rawId === "string" && rawId && raw.type === ChatFrame.REQUEST ? rawId : undefined;
  const issue = parsed.error.issues[0];
  return { refused: `malformed ${raw.type} frame: ${issue ? `${issue.path.join(".") || "frame"}: ${issue.message}` : "invalid"}`, ...(requestId ? { requestId } : {}) };
}
