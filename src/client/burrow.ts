import type { EnsureSandboxBody, SandboxInfo } from "../contract/index.js";
import { Sandbox } from "./sandbox.js";
import { Transport, type ConnectionConfig } from "./transport.js";

/** Entry point of the SDK: `new Burrow({url, token}).sandbox("name")`. */
export class Burrow {
  private readonly t: Transport;

  constructor(config: ConnectionConfig = {}) {
    this.t = new Transport(config);
  }

  /** A handle on the sandbox with this name (like getSandbox); created or woken on first use. */
  sandbox(id: string, options?: EnsureSandboxBody): Sandbox {
    return new Sandbox(this.t, id, options);
  }

  async list(): Promise<SandboxInfo[]> {
    return (await this.t.json<{ sandboxes: SandboxInfo[] }>("GET", "/v1/sandboxes")).sandboxes;
  }

  get(id: string): Promise<SandboxInfo> {
    return this.t.json("GET", `/v1/sandboxes/${encodeURIComponent(id)}`);
  }
}
