/**
 * Every combination of allow / deny / handler binding / internet on-off,
 * each rule given by the server (defaults, --config) or by the sandbox, over
 * names, wildcards, IPs and CIDRs, against an oracle that states the
 * precedence the README promises: deny wins over everything.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decide, decideHandled, EgressRules, type Resolver } from "../src/egress/index.js";
import type { EgressConfig } from "../src/egress/index.js";
import type { EgressSettings } from "../src/contract/index.js";

type Kind = "none" | "name" | "wildcard" | "ip" | "cidr";
type Binding = "none" | "exact" | "wildcard" | "outbound";
type Where = "server" | "sandbox";
interface Target { host: string; address: string; literal: boolean; internal: boolean }

const TARGETS: Target[] = [
  { host: "api.example.com", address: "203.0.113.10", literal: false, internal: false },
  { host: "203.0.113.10", address: "203.0.113.10", literal: true, internal: false },
  { host: "intra.example.com", address: "10.1.2.3", literal: false, internal: true },
  { host: "10.1.2.3", address: "10.1.2.3", literal: true, internal: true },
];
const fakeDns: Resolver = async (bare) => {
  const t = TARGETS.find((x) => x.host === bare && !x.literal);
  if (t) return [{ address: t.address, family: 4 }];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bare)) return [{ address: bare, family: 4 }];
  throw new Error("ENOTFOUND");
};

/** A rule of each kind that would match `t` (name and wildcard rules name the domain, so an IP literal never matches them). */
function rule(kind: Kind, t: Target): string[] {
  const domain = t.internal ? "intra.example.com" : "api.example.com";
  switch (kind) {
    case "none": return [];
    case "name": return [domain];
    case "wildcard": return ["*.example.com"];
    case "ip": return [t.address];
    case "cidr": return [t.address.replace(/\.\d+$/, ".0/24")];
  }
}
function binding(b: Binding, t: Target): Record<string, string> {
  if (b === "exact") return { [t.host]: "h" };
  if (b === "wildcard") return { "*.example.com": "h" };
  return {};
}

/** What the README says must happen. */
function expected(c: { internet: boolean; allow: Kind; deny: Kind; bind: Binding }, t: Target): boolean {
  const byName = (k: Kind) => !t.literal && (k === "name" || k === "wildcard");
  const byAddress = (k: Kind) => k === "ip" || k === "cidr";
  if (byName(c.deny) || byAddress(c.deny)) return false; // deny wins over everything
  const bound = c.bind === "exact" || (c.bind === "wildcard" && !t.literal);
  const handled = bound || c.bind === "outbound";
  // Internet off: only what an allow rule or a byHost binding names (addresses count for IP literals); the catch-all names nothing.
  if (!c.internet && !(byName(c.allow) || bound || (t.literal && byAddress(c.allow)))) return false;
  if (handled) return true; // the handler's own fetch is checked when it dials
  return !t.internal || byName(c.allow) || byAddress(c.allow);
}

describe("egress precedence matrix", () => {
  it("deny beats allow, handler bindings and server defaults for every combination", async () => {
    const kinds: Kind[] = ["none", "name", "wildcard", "ip", "cidr"];
    const wheres: Where[] = ["server", "sandbox"];
    const binds: [Binding, Where][] = [["none", "server"], ["exact", "server"], ["exact", "sandbox"], ["wildcard", "server"], ["wildcard", "sandbox"], ["outbound", "server"]];
    const internets: { internet: boolean; server?: boolean; sandbox?: boolean }[] = [
      { internet: true },
      { internet: true, server: false, sandbox: true },
      { internet: false, sandbox: false },
      { internet: false, server: false },
    ];
    let cases = 0;
    const wrong: string[] = [];
    for (const t of TARGETS)
      for (const net of internets)
        for (const allow of kinds)
          for (const allowAt of wheres)
            for (const deny of kinds)
              for (const denyAt of wheres)
                for (const [bind, bindAt] of binds) {
                  const server: EgressConfig & { extraAllow: string[] } = { handlers: { h: () => new Response("") }, extraAllow: [] };
                  const own: EgressSettings = {};
                  if (net.server !== undefined) server.internet = net.server;
                  if (net.sandbox !== undefined) own.internet = net.sandbox;
                  (allowAt === "server" ? (server.allowedHosts = rule(allow, t)) : (own.allowedHosts = rule(allow, t)));
                  (denyAt === "server" ? (server.deniedHosts = rule(deny, t)) : (own.deniedHosts = rule(deny, t)));
                  if (bind === "outbound") server.outbound = "h";
                  else (bindAt === "server" ? (server.byHost = binding(bind, t)) : (own.byHost = binding(bind, t)));
                  const policy = new EgressRules(server, () => own).policyFor("s");
                  // The proxy's own choice: a host with a handler is answered by it, any other is dialled.
                  const d = policy.handlerFor(t.host, 443) ? await decideHandled(t.host, 443, policy, fakeDns) : await decide(t.host, 443, policy, fakeDns);
                  const want = expected({ internet: net.internet, allow, deny, bind }, t);
                  cases++;
                  if (d.allowed !== want)
                    wrong.push(`${t.host} internet=${JSON.stringify(net)} allow=${allow}@${allowAt} deny=${deny}@${denyAt} bind=${bind}@${bindAt}: got ${d.allowed ? "allowed" : `denied (${d.reason})`}`);
                }
    assert.equal(cases, 4 * 4 * 10 * 10 * 6);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${cases} cases disagree with the documented precedence`);
  });

  it("a deny by address also stops a handled name that resolves into it", async () => {
    const policy = new EgressRules({ handlers: { h: () => new Response("") }, extraAllow: [], byHost: { "api.example.com": "h" } }, () => ({ deniedHosts: ["203.0.113.0/24"] })).policyFor("s");
    const d = await decideHandled("api.example.com", 443, policy, fakeDns);
    assert.equal(d.allowed, false);
    assert.match(!d.allowed ? d.reason : "", /resolves to 203\.0\.113\.10, which is in deniedHosts/);
  });

  it("a handled name that does not resolve is the handler's to answer", async () => {
    const policy = new EgressRules({ handlers: { h: () => new Response("") }, extraAllow: [], byHost: { "made.up": "h" } }, () => ({ internet: false })).policyFor("s");
    assert.equal((await decideHandled("made.up", 443, policy, fakeDns)).allowed, true);
  });
});
