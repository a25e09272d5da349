import type { UIMessage, UIMessageChunk } from "ai";

export interface MessageBuilder {
  push(chunk: UIMessageChunk): void;
  /** The message with every pushed chunk applied. */
  finish(): Promise<UIMessage>;
}

type Delta = Extract<UIMessageChunk, { type: "text-delta" | "reasoning-delta" }>;
const isDelta = (c: UIMessageChunk): c is Delta => c.type === "text-delta" || c.type === "reasoning-delta";

/**
 * Builds the stored form of an answer from its chunks with the `ai`
 * package's own reader, the one the client applies, so what is stored is
 * what the client showed. The reader copies the whole message after every
 * chunk, so runs of deltas to one part are joined first: a 10,000-token
 * answer is a handful of chunks to it, not 10,000 growing copies. It runs
 * once, when the answer ends; `ai` is loaded then, not at start.
 */
export async function buildMessage(start: UIMessage): Promise<MessageBuilder> {
  const chunks: UIMessageChunk[] = [];
  // Deltas of the last chunk, when it is a delta, kept as pieces and joined once.
  let pieces: string[] | undefined;
  const seal = () => {
    const last = chunks.at(-1);
    if (pieces && last && isDelta(last)) chunks[chunks.length - 1] = { ...last, delta: pieces.join("") };
    pieces = undefined;
  };
  return {
    push(chunk) {
      const last = chunks.at(-1);
      if (isDelta(chunk) && last && last.type === chunk.type && last.id === chunk.id && pieces) {
        pieces.push(chunk.delta);
        return;
      }
      seal();
      chunks.push(chunk);
      if (isDelta(chunk)) pieces = [chunk.delta];
    },
    async finish() {
      seal();
      const { readUIMessageStream } = await import("ai");
      const stream = new ReadableStream<UIMessageChunk>({
        start(c) {
          for (const chunk of chunks) c.enqueue(chunk);
          c.close();
        },
      });
      let latest: UIMessage = structuredClone(start);
      // A chunk the reader refuses (a delta for a part never started, say) is skipped, not fatal.
      for await (const m of readUIMessageStream({ message: structuredClone(start), stream, terminateOnError: false, onError: () => {} })) latest = m;
      return latest;
    },
  };
}
