import { BlockList, isIP } from "node:net";
import { lookup } from "node:dns/promises";

/** Addresses a sandbox never reaches unless a rule names them: private, loopback, link-local, metadata, multicast. */
const INTERNAL = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) INTERNAL.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8]] as const) INTERNAL.addSubnet(net, bits, "ipv6");

export function isInternal(address: string): boolean {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4mapped) return INTERNAL.check(v4mapped[1]!, "ipv4");
  return INTERNAL.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
}

/** A rule: `host`, `host:port`, `*.domain`, an IP, or a CIDR. */
export class HostRules {
  private readonly names: { pattern: string; port?: number }[] = [];
  private readonly nets = new BlockList();
  private hasNets = false;

  constructor(rules: string[]) {
    for (const raw of rules) {
      const rule = raw.trim().toLowerCase();
      if (!rule) continue;
      const cidr = /^([0-9a-f.:]+)\/(\d+)$/.exec(rule);
      if (cidr && isIP(cidr[1]!)) {
        this.nets.addSubnet(cidr[1]!, Number(cidr[2]), isIP(cidr[1]!) === 6 ? "ipv6" : "ipv4");
        this.hasNets = true;
        continue;
      }
      if (isIP(rule)) {
        this.nets.addAddress(rule, isIP(rule) === 6 ? "ipv6" : "ipv4");
        this.hasNets = true;
        continue;
      }
      const hp = /^(.+?)(?::(\d+))?$/.exec(rule)!;
      this.names.push({ pattern: hp[1]!, port: hp[2] ? Number(hp[2]) : undefined });
    }
  }

  matchesHost(host: string, port: number): boolean {
    const h = host.toLowerCase();
    return this.names.some(
      (r) =>
        (r.port === undefined || r.port === port) &&
        (r.pattern === h || (r.pattern.startsWith("*.") && h.endsWith(r.pattern.slice(1)))),
    );
  }

  matchesAddress(address: string): boolean {
    return this.hasNets && this.nets.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
  }
}

/**
 * The name by which a sandbox reaches the host machine itself (its loopback);
 * inside a sandbox, 127.0.0.1 is the sandbox's own. Refused like any internal
 * address unless a rule allows it (e.g. `host.burrow.internal:8080`).
 */
export const HOST_ALIAS = "host.burrow.internal";

export type Decision = { allowed: true; address: string; family: number } | { allowed: false; reason: string };
export type HandledDecision = { allowed: true } | { allowed: false; reason: string };

/** One sandbox's rules, server defaults included. */
export interface Policy {
  allow: HostRules;
  deny: HostRules;
  /** false: only hosts that `allow` names (or that a byHost entry binds) are reachable. */
  internet: boolean;
  /** The handler for host:port: its byHost binding, else the server's catch-all `outbound` handler. */
  handlerFor(host: string, port: number): string | undefined;
  /** Whether a byHost entry names host:port. The catch-all handler names nothing, so it never opens a host when internet is off. */
  bound(host: string, port: number): boolean;
}

export type Resolver = (bare: string) => Promise<{ address: string; family: number }[]>;

/** The name (or IP literal) resolved to addresses; Burrow's host alias is the host's loopback. */
async function resolveHost(bare: string): Promise<{ address: string; family: number }[]> {
  if (bare.toLowerCase() === HOST_ALIAS) return [{ address: "127.0.0.1", family: 4 }];
  if (isIP(bare)) return [{ address: bare, family: isIP(bare) }];
  return lookup(bare, { all: true });
}

const unbracket = (host: string) => host.replace(/^\[|\]$/g, "");

/**
 * The checks made on the name alone, before any lookup: deny first (by name,
 * and by address for an IP literal), then internet off. Returns whether an
 * allow rule or a handler binding names the host.
 */
function byName(bare: string, port: number, policy: Policy): { refused: string } | { named: boolean } {
  if (policy.deny.matchesHost(bare, port) || (isIP(bare) && policy.deny.matchesAddress(bare))) return { refused: `${bare} is in deniedHosts` };
  const named = policy.allow.matchesHost(bare, port) || policy.bound(bare, port);
  if (!policy.internet && !named && !(isIP(bare) && policy.allow.matchesAddress(bare)))
    return { refused: `internet access is off for this sandbox and ${bare}:${port} is not in allowedHosts` };
  return { named };
}

/**
 * Decide whether a sandbox may open a connection to host:port. Deny rules
 * win over everything (allow rules, handler bindings, server defaults). The
 * decision is made on the resolved address, and the caller connects to
 * exactly that address, so a name that resolves to an internal address is
 * caught, and a second lookup cannot swap the answer.
 */
export async function decide(host: string, port: number, policy: Policy, resolve: Resolver = resolveHost): Promise<Decision> {
  const bare = unbracket(host);
  const first = byName(bare, port, policy);
  if ("refused" in first) return { allowed: false, reason: first.refused };
  const { named } = first;
  let addresses: { address: string; family: number }[];
  try {
    addresses = await resolve(bare);
  } catch {
    return { allowed: false, reason: `cannot resolve ${bare}` };
  }
  let reason = "";
  for (const a of addresses) {
    if (policy.deny.matchesAddress(a.address)) {
      reason = `${bare} resolves to ${a.address}, which is in deniedHosts`;
      continue;
    }
    const listed = named || policy.allow.matchesAddress(a.address);
    if (isInternal(a.address) && !listed) {
      reason = `${bare} resolves to an internal address (${a.address}) that sandboxes may not reach unless allowedHosts names it`;
      continue;
    }
    if (!policy.internet && !listed) {
      reason = `internet access is off for this sandbox and ${a.address} is not in allowedHosts`;
      continue;
    }
    return { allowed: true, ...a };
  }
  return { allowed: false, reason: reason || `${bare} has no address` };
}

/**
 * For a host a handler answers: the proxy does not dial it (the handler's
 * `ctx.fetch` is checked when it connects), but deny still wins before the
 * handler sees the request, so no credential is added for a denied
 * destination. Deny rules on addresses apply to every address the name has;
 * a name that does not resolve is the handler's to answer.
 */
export async function decideHandled(host: string, port: number, policy: Policy, resolve: Resolver = resolveHost): Promise<HandledDecision> {
  const bare = unbracket(host);
  const first = byName(bare, port, policy);
  if ("refused" in first) return { allowed: false, reason: first.refused };
  if (isIP(bare)) return { allowed: true };
  const addresses = await resolve(bare).catch(() => []);
  const hit = addresses.find((a) => policy.deny.matchesAddress(a.address));
  if (hit) return { allowed: false, reason: `${bare} resolves to ${hit.address}, which is in deniedHosts` };
  return { allowed: true };
}
