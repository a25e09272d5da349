import type { UIMessage, UIMessageChunk } from "ai";

export interface MessageBuilder {
  push(chunk: UIMessageChunk): void;
  /** The message with every pushed chunk applied. */
  finish(): Promise<UIMessage>;
}

/**
 * Builds the stored form of an answer from its chunks with the `ai`
 * package's own reader, the one the client applies, so what is stored is
 * what the client showed. `ai` is loaded on the first answer, not at start.
 */
export async function buildMessage(start: UIMessage): Promise<MessageBuilder> {
  const { readUIMessageStream } = await import("ai");
  let feed!: ReadableStreamDefaultController<UIMessageChunk>;
  const source = new ReadableStream<UIMessageChunk>({ start: (c) => void (feed = c) });
  let latest: UIMessage = structuredClone(start);
  const reading = (async () => {
    // A chunk the reader refuses (a delta for a part never started, say) is skipped, not fatal.
    for await (const m of readUIMessageStream({ message: structuredClone(start), stream: source, terminateOnError: false, onError: () => {} })) latest = m;
  })().catch(() => {});
  let closed = false;
  return {
    push(chunk) {
      if (!closed) feed.enqueue(chunk);
    },
    async finish() {
      if (!closed) {
        closed = true;
        feed.close();
      }
      await reading;
      return structuredClone(latest);
    },
  };
}
