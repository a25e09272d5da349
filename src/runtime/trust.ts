import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { RUN_DIR } from "./env.js";

/** The installation's egress CA certificate, put in the run directory by the server. */
export const EGRESS_CA = `${RUN_DIR}/egress-ca.pem`;
/** The system's trusted certificates plus the egress CA: what the TLS variables point at. */
export const CA_BUNDLE = `${RUN_DIR}/ca-bundle.pem`;

const SYSTEM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/**
 * Make programs in the sandbox trust the egress CA, so HTTPS a handler
 * rewrites still verifies: appended to the system bundle (for tools that
 * read only that) and offered through the variables common tools read.
 * Returns those variables, or none when the server sent no CA.
 */
export function installEgressTrust(): Record<string, string> {
  if (!existsSync(EGRESS_CA)) return {};
  const ca = readFileSync(EGRESS_CA, "utf8").trim();
  const system = SYSTEM_BUNDLES.find((f) => existsSync(f));
  let systemText = "";
  if (system) {
    try {
      systemText = readFileSync(system, "utf8");
      if (!systemText.includes(ca)) appendFileSync(system, `\n${ca}\n`);
    } catch {
      /* a read-only or odd image: the variables below still work */
    }
  }
  writeFileSync(CA_BUNDLE, `${systemText.includes(ca) ? systemText : `${systemText}\n${ca}\n`}`);
  return {
    NODE_EXTRA_CA_CERTS: EGRESS_CA,
    SSL_CERT_FILE: CA_BUNDLE,
    REQUESTS_CA_BUNDLE: CA_BUNDLE,
    CURL_CA_BUNDLE: CA_BUNDLE,
    GIT_SSL_CAINFO: CA_BUNDLE,
  };
}
