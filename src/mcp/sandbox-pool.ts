import type { Sandbox } from "../client/index.js";
import { BurrowApiError } from "../client/index.js";

/** Makes a handle on a sandbox; `ensure: true` creates or wakes it on first use. */
export type SandboxFactory = (id: string) => Sandbox;

/**
 * Handles on the sandboxes MCP tools name, kept so each sandbox's code
 * contexts (one per language) persist between calls. A handle whose sandbox
 * has gone (destroyed meanwhile) is replaced and the call tried once more.
 */
export class SandboxPool {
  private readonly handles = new Map<string, Sandbox>();
  private static readonly MAX = 1000;

  constructor(private readonly factory: () => SandboxFactory) {}

  async use<T>(id: string, work: (sandbox: Sandbox) => Promise<T>): Promise<T> {
    try {
      return await work(this.handle(id));
    } catch (err) {
      if (!(err instanceof BurrowApiError) || err.code !== "SANDBOX_NOT_FOUND") throw err;
      this.handles.delete(id);
      return work(this.handle(id));
    }
  }

  private handle(id: string): Sandbox {
    let h = this.handles.get(id);
    if (!h) {
      h = this.factory()(id);
      // Oldest first out: a client naming endless sandboxes does not grow this without bound.
      if (this.handles.size >= SandboxPool.MAX) this.handles.delete(this.handles.keys().next().value!);
      this.handles.set(id, h);
    }
    return h;
  }
}
