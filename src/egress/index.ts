/**
 * Egress: the only way out of a sandbox. Policy decisions are made here, on
 * the server, on resolved addresses; the sandbox side only carries bytes.
 */
export { EgressProxy, type EgressOptions } from "./proxy.js";
export { decide, HostRules, isInternal, HOST_ALIAS } from "./policy.js";
