import type { IncomingMessage, ServerResponse } from "node:http";

/*
 * The runtime's part of a server span. When the server's request carries a
 * `traceparent` (tracing is on there), the answer says when the runtime did
 * the work, `x-burrow-span: <startNs>-<endNs>`, and the server records it as
 * a child span; a streamed answer says `<startNs>-` and ends with its body.
 * Without a traceparent nothing is measured or added.
 */
const started = new WeakMap<ServerResponse, string>();

export function unixNs(): string {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)).toString();
}

/** Note when work on a traced request began (called once per request, before routing). */
export function spanBegin(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.traceparent) started.set(res, unixNs());
}

/** The work is done and the answer follows in one piece. */
export function spanDone(res: ServerResponse): void {
  const t0 = started.get(res);
  if (t0 !== undefined && !res.headersSent) res.setHeader("x-burrow-span", `${t0}-${unixNs()}`);
}

/** The answer streams: the work lasts as long as its body. */
export function spanStreams(res: ServerResponse): void {
  const t0 = started.get(res);
  if (t0 !== undefined && !res.headersSent) res.setHeader("x-burrow-span", `${t0}-`);
}
