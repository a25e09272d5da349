import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import { JOIN_RUN, plainDelta, replayFrames } from "../src/agents/chat/replay.js";

// The frames a chat agent replays to a client catching up on an answer: read back
// with the `ai` package's own reader (the one useAgentChat applies), they must make
// the same message as the chunks that streamed, whatever was joined.
const chunksOf = (frames: string[]) => frames.map((f) => JSON.parse(f) as { body: string; seq?: number; replay: boolean; replayComplete?: boolean; continuation?: boolean });

async function read(chunks: UIMessageChunk[]): Promise<UIMessage> {
  const stream = new ReadableStream<UIMessageChunk>({ start: (c) => (chunks.forEach((x) => c.enqueue(x)), c.close()) });
  let last: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream })) last = m;
  return last!;
}

describe("chat replay frames", () => {
  const answer: UIMessageChunk[] = [
    { type: "start", messageId: "m1" },
    { type: "text-start", id: "t" },
    ...Array.from({ length: 1000 }, (_, i): UIMessageChunk => ({ type: "text-delta", id: "t", delta: `tok${i} "q" ` })),
    { type: "text-end", id: "t" },
    { type: "tool-input-available", toolCallId: "c1", toolName: "shell", input: { command: "ls" } },
    { type: "text-start", id: "u" },
    { type: "text-delta", id: "u", delta: "short " },
    { type: "text-delta", id: "u", delta: "run" },
  ];
  const bodies = answer.map((c) => JSON.stringify(c));
  const deltas = answer.map(plainDelta);

  it("joins a long run of deltas into one frame numbered with the run's last seq, and keeps the rest as they were", async () => {
    const frames = chunksOf(replayFrames("r1", bodies, deltas, false));
    assert.deepEqual(frames.map((f) => f.seq), [0, 1, 1001, 1002, 1003, 1004, 1005, 1006, undefined]);
    assert.ok(frames.every((f) => f.replay));
    assert.equal(frames.at(-1)?.replayComplete, true);
    const replayed = await read(frames.filter((f) => f.body).map((f) => JSON.parse(f.body) as UIMessageChunk));
    assert.deepEqual(replayed, await read(answer));
  });

  it("never joins a continuation's chunks (its client skips replayed chunks by seq)", () => {
    const frames = chunksOf(replayFrames("r2", bodies, deltas, true));
    assert.deepEqual(frames.filter((f) => f.body).map((f) => f.seq), answer.map((_, i) => i));
    assert.ok(frames.every((f) => f.continuation === true));
  });

  it("leaves runs shorter than the join length, and deltas carrying more than their text, one frame each", () => {
    const short = Array.from({ length: JOIN_RUN - 1 }, (_, i): UIMessageChunk => ({ type: "text-delta", id: "t", delta: `${i}` }));
    const meta = Array.from({ length: JOIN_RUN * 2 }, (_, i): UIMessageChunk => ({ type: "text-delta", id: "t", delta: `${i}`, providerMetadata: { x: { i } } }));
    for (const list of [short, meta]) {
      const frames = chunksOf(replayFrames("r3", list.map((c) => JSON.stringify(c)), list.map(plainDelta), false));
      assert.equal(frames.length, list.length + 1);
    }
  });
});
