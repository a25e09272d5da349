import { randomBytes, timingSafeEqual } from "node:crypto";
import { BurrowError } from "../contract/index.js";
import type { SandboxManager } from "./manager.js";
import type { ExposedPort, Registry } from "./registry.js";

/** Ports inside a sandbox that belong to Burrow's runtime (the egress bridge). */
export const RESERVED_PORTS = new Set([3128]);

/** Ports published through preview URLs. Their tokens are stored, so URLs survive sleep and restarts. */
export class SandboxPorts {
  constructor(
    private readonly sandboxes: SandboxManager,
    private readonly registry: Registry,
  ) {}

  /** Publish a port through a preview URL; the token is stored, so the URL survives sleep and restarts. */
  async expose(id: string, port: number, opts: { name?: string; token?: string }): Promise<ExposedPort> {
    if (RESERVED_PORTS.has(port)) throw new BurrowError("PORT_RESERVED", `port ${port} is used by Burrow's runtime inside the sandbox; pick another`, { port });
    await this.sandboxes.runtime(id); // like any operation, creates or wakes the sandbox
    const existing = this.registry.port(id, port);
    const exposed: ExposedPort = {
      sandboxId: id,
      port,
      token: opts.token ?? existing?.token ?? randomBytes(8).toString("hex"),
      ...(opts.name ? { name: opts.name } : existing?.name ? { name: existing.name } : {}),
      createdAt: existing?.createdAt ?? new Date().toISOString(),
    };
    this.registry.putPort(exposed);
    return exposed;
  }

  /** Withdraw a preview URL; withdrawing one that is not there is fine. */
  unexpose(id: string, port: number): boolean {
    this.sandboxes.get(id); // SANDBOX_NOT_FOUND for an unknown name
    return this.registry.deletePort(id, port);
  }

  list(id: string): ExposedPort[] {
    this.sandboxes.get(id); // SANDBOX_NOT_FOUND for an unknown name
    return this.registry.ports(id);
  }

  /** The exposed port a preview request names, if its token is right. Never wakes anything. */
  previewTarget(id: string, port: number, token: string): ExposedPort | undefined {
    if (!this.sandboxes.has(id)) return undefined;
    const p = this.registry.port(id, port);
    if (!p) return undefined;
    const a = Buffer.from(p.token);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b) ? p : undefined;
  }
}
