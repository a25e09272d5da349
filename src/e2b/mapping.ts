import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { SandboxInfo } from "../contract/index.js";

/*
 * How an E2B sandbox is a Burrow sandbox: its id is a Burrow id, its template
 * and metadata are labels, its timeout is the idle time before Burrow puts it
 * to sleep, and E2B's "paused" is Burrow's "sleeping".
 */

/** The envd version Burrow claims: new enough that the SDK gates no feature off. */
export const ENVD_VERSION = "0.6.4";
export const DEFAULT_TIMEOUT_S = 300;

const TEMPLATE_LABEL = "e2b.template";
const META_PREFIX = "e2b.meta.";

/** Templates that mean "Burrow's default image" (it has Python, IPython and Node). */
const DEFAULT_TEMPLATES = new Set(["base", "code-interpreter-v1", "code-interpreter", "desktop"]);

export const newSandboxId = (): string => `e2b-${randomBytes(8).toString("hex")}`;

export const imageFor = (templateID: string): string | undefined => (DEFAULT_TEMPLATES.has(templateID) ? undefined : templateID);

export function labelsFor(templateID: string, metadata: Record<string, string> = {}): Record<string, string> {
  const labels: Record<string, string> = { [TEMPLATE_LABEL]: templateID };
  for (const [k, v] of Object.entries(metadata)) labels[META_PREFIX + k] = v;
  return labels;
}

export const isE2bSandbox = (info: SandboxInfo): boolean => TEMPLATE_LABEL in info.labels;

export function metadataOf(info: SandboxInfo): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(info.labels)) if (k.startsWith(META_PREFIX)) out[k.slice(META_PREFIX.length)] = v;
  return out;
}

export const stateOf = (info: SandboxInfo): "running" | "paused" => (info.state === "running" ? "running" : "paused");

/** A sandbox as E2B's API lists and describes it. */
export function describe(info: SandboxInfo) {
  return {
    sandboxID: info.id,
    templateID: info.labels[TEMPLATE_LABEL] ?? info.image,
    clientID: "burrow",
    startedAt: info.createdAt,
    // Burrow counts the timeout from the last activity: this is when it will sleep if nothing happens.
    endAt: new Date(Date.parse(info.lastActiveAt) + info.sleepAfter * 1000).toISOString(),
    state: stateOf(info),
    cpuCount: Math.max(1, Math.ceil(info.limits.cpus)),
    memoryMB: info.limits.memoryMB,
    diskSizeMB: 0,
    envdVersion: ENVD_VERSION,
    metadata: metadataOf(info),
  };
}

/**
 * The per-sandbox envd token: an HMAC of the id under the server's token, so
 * it is checked without storing anything and opens only that one sandbox.
 */
export function accessTokenFor(serverToken: string, sandboxId: string): string {
  return createHmac("sha256", serverToken).update(`e2b-envd:${sandboxId}`).digest("base64url");
}

export function sameSecret(given: string | undefined, want: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}
