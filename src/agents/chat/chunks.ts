import type { UIMessageChunk } from "ai";

/** What `onChatMessage` may return: an `ai` UI message stream as a Response (SSE), a stream, or any async iterable of chunks. */
export type ChatResponse = Response | ReadableStream<UIMessageChunk> | AsyncIterable<UIMessageChunk>;

/**
 * The chunks of an answer, whatever form it came in. A Response is read as
 * the `ai` package's SSE framing (`data: {json}` lines, `data: [DONE]` at
 * the end); lines are buffered, so a chunk split across reads is whole.
 */
export async function* chunksOf(response: ChatResponse, signal: AbortSignal): AsyncGenerator<UIMessageChunk> {
  if (response instanceof Response) {
    if (!response.body) return;
    yield* sseChunks(response.body, signal);
    return;
  }
  const iterable: AsyncIterable<UIMessageChunk> =
    Symbol.asyncIterator in response ? response : readableIterable(response as ReadableStream<UIMessageChunk>);
  const it = iterable[Symbol.asyncIterator]();
  try {
    while (!signal.aborted) {
      const next = await nextOrAbort(it, signal);
      if (next === ABORTED || next.done) return;
      yield next.value;
    }
  } finally {
    // Tell the producer to stop (a model run stops reading tokens).
    void Promise.resolve(it.return?.()).catch(() => {});
  }
}

const ABORTED = Symbol("aborted");
/** The next chunk, or ABORTED as soon as the signal fires (a model stuck before its next token does not hold a cancel). */
function nextOrAbort<T>(it: AsyncIterator<T>, signal: AbortSignal): Promise<IteratorResult<T> | typeof ABORTED> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<typeof ABORTED>((resolve) => {
    onAbort = () => resolve(ABORTED);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  // The listener goes with each chunk, so a long answer does not pile them up on the signal.
  return Promise.race([it.next(), aborted]).finally(() => signal.removeEventListener("abort", onAbort!));
}

async function* readableIterable<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

async function* sseChunks(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<UIMessageChunk> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const bytes of chunksOf(body as unknown as AsyncIterable<UIMessageChunk>, signal) as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).replace(/\r$/, "");
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trimStart();
      if (data === "[DONE]" || !data) continue;
      try {
        yield JSON.parse(data) as UIMessageChunk;
      } catch {
        // Not JSON: not a UI message chunk; the `ai` client would fail on it too, so it is dropped.
      }
    }
  }
}
