import { BurrowError, type EgressPolicyInfo, type EgressSettings } from "../contract/index.js";
import { type EgressConfig, lookupHandler } from "./handlers.js";
import { HostRules } from "./policy.js";
import type { EffectivePolicy } from "./proxy.js";

const DEFAULT_MAX_CONNECTIONS = 256;

/**
 * Server defaults (flags and the --config module) combined with each
 * sandbox's own settings: allow and deny lists add up, the sandbox's
 * `internet`, limits and byHost entries win over the server's.
 */
export class EgressRules {
  private readonly cache = new Map<string, EffectivePolicy>();

  constructor(
    private readonly server: EgressConfig & { extraAllow: string[] },
    private readonly settingsOf: (sandboxId: string) => EgressSettings | undefined,
  ) {}

  get handlerNames(): string[] {
    return Object.keys(this.server.handlers ?? {});
  }

  /** Refuse settings that name handlers this server does not have. */
  check(body: EgressSettings): void {
    for (const [host, name] of Object.entries(body.byHost ?? {}))
      if (!this.server.handlers?.[name])
        throw new BurrowError(
          "EGRESS_HANDLER_NOT_FOUND",
          `byHost ${host}: no egress handler named ${name}; this server offers ${this.handlerNames.join(", ") || "none (start it with --config)"}`,
          { handler: name },
        );
  }

  info(sandboxId: string): EgressPolicyInfo {
    const s = this.settingsOf(sandboxId) ?? {};
    return {
      allowedHosts: [...(this.server.allowedHosts ?? []), ...this.server.extraAllow, ...(s.allowedHosts ?? [])],
      deniedHosts: [...(this.server.deniedHosts ?? []), ...(s.deniedHosts ?? [])],
      internet: s.internet ?? this.server.internet ?? true,
      byHost: { ...(this.server.byHost ?? {}), ...(s.byHost ?? {}) },
      maxConnections: s.maxConnections ?? this.server.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      bandwidthKBps: s.bandwidthKBps !== undefined ? s.bandwidthKBps : (this.server.bandwidthKBps ?? null),
      handlers: this.handlerNames,
      own: s,
    };
  }

  policyFor(sandboxId: string): EffectivePolicy {
    let p = this.cache.get(sandboxId);
    if (!p) {
      const i = this.info(sandboxId);
      const outbound = this.server.outbound;
      p = {
        allow: new HostRules(i.allowedHosts),
        deny: new HostRules(i.deniedHosts),
        internet: i.internet,
        handlerFor: (host, port) => lookupHandler(i.byHost, host, port) ?? outbound,
        bound: (host, port) => lookupHandler(i.byHost, host, port) !== undefined,
        maxConnections: i.maxConnections,
        bandwidthBytesPerSecond: i.bandwidthKBps ? i.bandwidthKBps * 1024 : null,
      };
      this.cache.set(sandboxId, p);
    }
    return p;
  }

  /** Forget what was computed for a sandbox whose settings changed. */
  invalidate(sandboxId: string): void {
    this.cache.delete(sandboxId);
  }
}
