import type { WatchEvent } from "../contract/index.js";
import { BurrowApiError } from "./errors.js";
import type { Transport } from "./transport.js";

export interface WatchOptions {
  recursive?: boolean;
  include?: string[];
  exclude?: string[];
  signal?: AbortSignal;
}

/** The watch SSE stream of sandbox `base` as events; its error event (a missing path, say) is thrown. */
export async function* watchPath(t: Transport, base: string, path: string, opts: WatchOptions): AsyncGenerator<WatchEvent | { type: "watching"; path: string }> {
  const q = new URLSearchParams({ path, recursive: String(opts.recursive ?? true) });
  if (opts.include?.length) q.set("include", opts.include.join(","));
  if (opts.exclude) q.set("exclude", opts.exclude.join(","));
  for await (const e of t.sse("GET", `${base}/watch?${q}`, undefined, opts.signal)) {
    if (e.event === "error") {
      const d = e.data as { code: string; message: string };
      throw new BurrowApiError(d.code === "FILE_NOT_FOUND" ? 404 : 500, d);
    }
    yield e.data as WatchEvent | { type: "watching"; path: string };
  }
}
