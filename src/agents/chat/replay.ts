import type { UIMessageChunk } from "ai";
import { ChatFrame } from "./protocol.js";

/** A text or reasoning delta with nothing else on it: consecutive ones of one part can be joined. */
export interface PlainDelta {
  type: "text-delta" | "reasoning-delta";
  id: string;
  delta: string;
}

/** Runs of at least this many plain deltas of one part are replayed as one delta. */
export const JOIN_RUN = 32;

export function plainDelta(chunk: UIMessageChunk): PlainDelta | undefined {
  if (chunk.type !== "text-delta" && chunk.type !== "reasoning-delta") return undefined;
  for (const k in chunk) if (k !== "type" && k !== "id" && k !== "delta") return undefined;
  return chunk;
}

/**
 * The frames that replay an answer so far to a client catching up: one per
 * stored chunk (`replay: true`, numbered with its `seq`), except that a long
 * run of plain deltas of one part goes as a single delta carrying the run's
 * text, numbered with the run's last `seq` (the client joins such runs itself
 * before applying them; a 10,000-token answer is then a handful of frames, not
 * 10,000). A continuation's chunks are never joined: its client skips replayed
 * chunks by `seq`, which must then name one chunk each. Then `replayComplete`.
 * Built as text, the JSON the frame objects would give.
 */
export function replayFrames(requestId: string, bodies: readonly string[], deltas: readonly (PlainDelta | undefined)[], continuation: boolean): string[] {
  const head = `{"type":"${ChatFrame.RESPONSE}","id":${JSON.stringify(requestId)},"body":`;
  const mid = `,"done":false,"replay":true,"seq":`;
  const end = continuation ? `,"continuation":true}` : "}";
  const frames: string[] = [];
  for (let seq = 0; seq < bodies.length; ) {
    const d = continuation ? undefined : deltas[seq];
    let stop = seq + 1;
    if (d) while (stop < bodies.length && deltas[stop]?.type === d.type && deltas[stop]?.id === d.id) stop++;
    if (d && stop - seq >= JOIN_RUN) {
      let text = "";
      for (let i = seq; i < stop; i++) text += deltas[i]!.delta;
      frames.push(head + JSON.stringify(JSON.stringify({ type: d.type, id: d.id, delta: text })) + mid + (stop - 1) + end);
    } else for (let i = seq; i < stop; i++) frames.push(head + JSON.stringify(bodies[i]) + mid + i + end);
    seq = stop;
  }
  frames.push(JSON.stringify({ type: ChatFrame.RESPONSE, id: requestId, body: "", done: false, replay: true, replayComplete: true, ...(continuation ? { continuation: true } : {}) }));
  return frames;
}

/**
 * What a connection joining during a continuation is sent (see ChatAgent's
 * catchUp): the stored transcript, then the continuation's chunks so far as
 * the live frames they were, in order.
 */
export function catchUpFrames(requestId: string, messages: readonly unknown[], bodies: readonly string[]): string[] {
  const frames = [JSON.stringify({ type: ChatFrame.MESSAGES, messages })];
  for (let seq = 0; seq < bodies.length; seq++) frames.push(JSON.stringify({ type: ChatFrame.RESPONSE, id: requestId, body: bodies[seq], done: false, seq, continuation: true }));
  return frames;
}
