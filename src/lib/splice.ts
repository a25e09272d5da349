import { connect, type Socket } from "node:net";
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

/**
 * Answer an HTTP CONNECT: dial the target, and once it answers tell the client
 * "200 Connection Established", pass on bytes it already sent and splice the
 * two. `refuse` runs if the target cannot be reached.
 */
export function tunnelTo(client: Socket, head: Buffer, target: { host: string; port: number; family?: number }, refuse: () => void): void {
  const upstream = connect(target);
  let connected = false;
  upstream.once("connect", () => {
    connected = true;
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) upstream.write(head);
    splice(upstream, client);
  });
  upstream.once("error", () => {
    if (!connected) refuse();
  });
}
