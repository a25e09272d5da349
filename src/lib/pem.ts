import { X509Certificate } from "node:crypto";

export interface CertInfo {
  subject: string;
  sha256: string;
  notAfter: string;
}

/**
 * Split a PEM bundle into its CA certificates, refusing anything that does
 * not parse (with the reason and where). Shared by the server (its
 * `--extra-ca-certs`, a sandbox's own CAs in a PUT) and the runtime (the
 * sandbox's file at start), so both accept exactly the same bundles.
 */
export function parsePemBundle(text: string, where: string): { pem: string; info: CertInfo }[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new Error(`${where} holds no PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)`);
  return blocks.map((pem, i) => {
    let c: X509Certificate;
    try {
      c = new X509Certificate(pem);
    } catch (err) {
      throw new Error(`${where}: certificate ${i + 1} of ${blocks.length} does not parse (${(err as Error).message}); give a PEM bundle of CA certificates`);
    }
    if (!c.ca) throw new Error(`${where}: certificate ${i + 1} (${c.subject.replace(/\n/g, ", ")}) is not a CA certificate; give the CAs that sign your servers`);
    return { pem, info: { subject: c.subject.replace(/\n/g, ", "), sha256: c.fingerprint256, notAfter: new Date(c.validTo).toISOString() } };
  });
}
