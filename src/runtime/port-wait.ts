import { connect } from "node:net";
import { request } from "node:http";
import { BurrowError } from "../contract/errors.js";

export interface PortWait {
  port: number;
  mode: "tcp" | "http";
  path: string;
  /** Accepted HTTP statuses, inclusive range. */
  status: [number, number];
  timeoutMs: number;
}

const tryTcp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

const tryHttp = (w: PortWait) =>
  new Promise<number | undefined>((resolve) => {
    const req = request({ host: "127.0.0.1", port: w.port, path: w.path, method: "GET", timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
    req.end();
  });

/**
 * Wait until something inside the sandbox accepts connections on the port
 * (tcp) or answers the path with an accepted status (http). Checked every few
 * milliseconds from inside, so the answer comes soon after the server is up.
 */
export async function waitForPort(w: PortWait, signal: AbortSignal): Promise<{ port: number; readyAfterMs: number; status?: number }> {
  const started = performance.now();
  let last: number | undefined;
  while (!signal.aborted) {
    if (w.mode === "tcp") {
      if (await tryTcp(w.port)) return { port: w.port, readyAfterMs: Math.round(performance.now() - started) };
    } else {
      last = await tryHttp(w);
      if (last !== undefined && last >= w.status[0] && last <= w.status[1])
        return { port: w.port, readyAfterMs: Math.round(performance.now() - started), status: last };
    }
    if (performance.now() - started > w.timeoutMs)
      throw new BurrowError("WAIT_TIMEOUT", `port ${w.port} was not ready (${w.mode}${last ? `, last status ${last}` : ""}) within ${w.timeoutMs} ms`, { port: w.port });
    await new Promise((r) => setTimeout(r, 4));
  }
  throw new BurrowError("WAIT_TIMEOUT", "the caller went away");
}
