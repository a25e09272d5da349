import type { PlainDelta } from "./replay.js";

/** The answer streaming now: what a resuming or joining connection is sent, and who is waiting for what. */
export interface ActiveStream {
  requestId: string;
  messageId: string;
  continuation: boolean;
  seq: number;
  /** Every chunk sent so far (as stored), and which are plain deltas: a replay sends these, not SQLite's copy. */
  bodies: string[];
  deltas: (PlainDelta | undefined)[];
  /** Connections offered a resume that have not acknowledged it yet: live chunks would reach them twice. */
  pending: Set<string>;
  /** Connections that joined during this continuation and were sent its chunks so far (see catchUp). */
  caughtUp: Set<string>;
}

export const newActiveStream = (requestId: string, messageId: string, continuation: boolean): ActiveStream => ({
  requestId,
  messageId,
  continuation,
  seq: 0,
  bodies: [],
  deltas: [],
  pending: new Set(),
  caughtUp: new Set(),
});
