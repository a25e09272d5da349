import type { Duplex } from "node:stream";

/**
 * Join two byte streams both ways. Ends propagate gracefully (what is queued
 * is still written before the other side is closed); only an error tears both
 * down at once. Destroying a side on 'close' instead would drop its unwritten
 * tail, which is how large responses got cut short.
 */
export function splice(a: Duplex, b: Duplex, onDone?: () => void): void {
  a.pipe(b);
  b.pipe(a);
  const kill = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", kill);
  b.on("error", kill);
  let closed = 0;
  const closeOne = (other: Duplex) => () => {
    if (!other.writableEnded) other.end();
    if (++closed === 2) onDone?.();
  };
  a.on("close", closeOne(b));
  b.on("close", closeOne(a));
}
