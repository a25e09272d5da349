import { BurrowError, type SandboxTrust } from "../contract/index.js";
import { type CertInfo, parsePemBundle } from "../lib/pem.js";
import type { RuntimeClient } from "./runtime-client.js";

const MAX_CERTS = 100;

/**
 * A PUT's `trust`, checked before anything is stored: the certificates alone
 * (text around them dropped) and their fingerprints, or null to remove them.
 * The same parser as `--extra-ca-certs`, so both accept the same bundles.
 */
export function checkSandboxTrust(t: SandboxTrust): { pem: string | null; certificates: CertInfo[] } {
  if (t.extraCaCerts === null) return { pem: null, certificates: [] };
  let certs: ReturnType<typeof parsePemBundle>;
  try {
    certs = parsePemBundle(t.extraCaCerts, "trust.extraCaCerts");
  } catch (err) {
    throw new BurrowError("CA_CERTS_INVALID", (err as Error).message);
  }
  if (certs.length > MAX_CERTS) throw new BurrowError("CA_CERTS_INVALID", `trust.extraCaCerts holds ${certs.length} certificates; at most ${MAX_CERTS}`);
  return { pem: certs.map((c) => c.pem).join("\n") + "\n", certificates: certs.map((c) => c.info) };
}

/**
 * What the CAs on a sandbox's disk are, as its runtime reports them (a fork
 * finds its snapshot's). Bounded and reshaped: root in the sandbox could make
 * its runtime answer anything, and this goes into the registry.
 */
export async function reportedTrust(client: RuntimeClient): Promise<CertInfo[]> {
  const r = await client.json<{ certificates?: unknown }>("GET", "/trust");
  const list = Array.isArray(r.certificates) ? r.certificates.slice(0, MAX_CERTS) : [];
  const str = (v: unknown) => String(v ?? "").slice(0, 512);
  return list.map((c: Record<string, unknown>) => ({ subject: str(c?.subject), sha256: str(c?.sha256), notAfter: str(c?.notAfter) }));
}

/**
 * Put a sandbox's own CAs onto its own disk through its runtime (the host
 * never writes into a sandbox's tree), which rebuilds its bundles at once. A
 * runtime from before this route (re-attached after an upgrade) is restarted
 * on the current one by `restart`, disk intact, and asked again.
 */
export async function pushTrust(client: () => RuntimeClient, trust: ReturnType<typeof checkSandboxTrust>, restart: () => Promise<void>): Promise<void> {
  const put = () => client().json("PUT", "/trust", { extraCaCerts: trust.pem });
  try {
    await put();
  } catch (err) {
    if ((err as BurrowError).code !== "NOT_FOUND") throw err;
    await restart();
    await put();
  }
}
