import { EgressPolicyBody, type EgressPatchBody, type EgressSettings } from "../contract/index.js";

const FIELDS = EgressPolicyBody.keyof().options;

/**
 * PUT's meaning: the body is the sandbox's whole policy. Every field is
 * named (absent ones as undefined) so a store that merges what it is given
 * still forgets what the body left out.
 */
export function replacing(body: EgressSettings): EgressSettings {
  return Object.fromEntries(FIELDS.map((k) => [k, body[k]])) as EgressSettings;
}

/** PATCH's meaning: fields given replace the kept ones; byHost entries merge, null removing one. */
export function merging(kept: EgressSettings, patch: EgressPatchBody): EgressSettings {
  const { byHost: byHostPatch, ...rest } = patch;
  const out: EgressSettings = { ...kept, ...rest };
  if (byHostPatch) {
    const byHost = { ...(kept.byHost ?? {}) };
    for (const [host, name] of Object.entries(byHostPatch) as [string, string | null][]) {
      if (name === null) delete byHost[host];
      else byHost[host] = name;
    }
    out.byHost = Object.keys(byHost).length ? byHost : undefined;
  }
  return replacing(out);
}
