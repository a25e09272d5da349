/**
 * Egress: every byte a sandbox sends out passes the proxy here. Policy
 * (allow, deny, internet on/off, resolved-address checks), credential
 * injection by server-side handlers (TLS terminated with the installation's
 * CA for those hosts only), audit and per-sandbox limits.
 */
export { EgressProxy, type EffectivePolicy } from "./proxy.js";
export { EgressRules } from "./rules.js";
export { EgressCA } from "./ca.js";
export { TrustSources, parsePemBundle, type CertInfo } from "./trust.js";
export { AuditLog } from "./audit.js";
export { UpstreamDialer, parseProxyUrl, upstreamProxyConfig, noProxyMatches, type ProxyEndpoint, type UpstreamProxyConfig } from "./upstream-proxy.js";
export { decide, decideHandled, HostRules, isInternal, HOST_ALIAS, type Resolver } from "./policy.js";
export { merging, replacing } from "./settings.js";
export type { EgressConfig, EgressContext, EgressHandler } from "./handlers.js";
