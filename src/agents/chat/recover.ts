import type { UIMessage, UIMessageChunk } from "ai";
import { buildMessage } from "./build-message.js";
import type { ChatStore } from "./store.js";

/**
 * Answers cut off by a stop: what had streamed is stored as the message, so
 * nothing a client saw is lost. Answers the transcript with those messages in it.
 */
export async function recoverOpenStreams(store: ChatStore, transcript: UIMessage[]): Promise<UIMessage[]> {
  let messages = transcript;
  for (const s of store.openStreams()) {
    const base = s.continuation ? messages.find((m) => m.id === s.message_id) : undefined;
    const builder = await buildMessage(base ?? { id: s.message_id, role: "assistant", parts: [] });
    for (const body of store.chunks(s.request_id)) {
      try {
        builder.push(JSON.parse(body) as UIMessageChunk);
      } catch {
        // a stored chunk that does not parse is skipped
      }
    }
    const built = await builder.finish();
    const answer = built.parts.length ? { ...built, id: s.message_id } : undefined;
    if (answer) messages = base ? messages.map((m) => (m.id === base.id ? answer : m)) : [...messages, answer];
    store.endStream(s.request_id, messages);
  }
  return messages;
}
