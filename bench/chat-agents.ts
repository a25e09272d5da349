/** The chat agent the chat benchmark serves: a scripted model that stamps its tokens with the time they were made. */
import type { UIMessage, UIMessageChunk } from "ai";
import { ChatAgent, type ChatMessageOptions } from "../src/agents/index.js";

const now = () => performance.timeOrigin + performance.now();

export class BenchChat extends ChatAgent {
  async *onChatMessage(messages: UIMessage[], { signal }: ChatMessageOptions): AsyncGenerator<UIMessageChunk> {
    const last = messages.at(-1)?.parts.find((p) => p.type === "text") as { text: string } | undefined;
    const [kind, n] = (last?.text ?? "").split(" ");
    yield { type: "text-start", id: "t" };
    if (kind === "long") {
      // A long answer that then stays open, so a client can join and be caught up.
      for (let i = 0; i < Number(n); i++) yield { type: "text-delta", id: "t", delta: `tok${i} ` };
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    } else {
      // The model's own latency is not what is measured: each token carries the moment it was made.
      await new Promise((r) => setTimeout(r, 5));
      yield { type: "text-delta", id: "t", delta: String(now()) };
    }
    yield { type: "text-end", id: "t" };
    yield { type: "finish" };
  }
}
