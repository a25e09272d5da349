import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { RUN_DIR } from "./env.js";

/** What the server puts in the run directory: Burrow's egress CA and the operator's extra CAs (PEM). */
export const EGRESS_CA = `${RUN_DIR}/egress-ca.pem`;
/** The system's trusted certificates plus those: what the TLS variables point at. */
export const CA_BUNDLE = `${RUN_DIR}/ca-bundle.pem`;

const SYSTEM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];
const BEGIN = "# --- added by Burrow at sandbox start (egress CA, --extra-ca-certs) ---";
const END = "# --- end of Burrow's certificates ---";

/** The bundle without what an earlier start added, so a CA removed from the server's settings is trusted no more. */
export function withoutBurrowBlock(text: string): string {
  const start = text.indexOf(BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  return (text.slice(0, start) + (end < 0 ? "" : text.slice(end + END.length))).replace(/\n{3,}$/, "\n");
}

/**
 * Make programs in the sandbox trust what the server sent (the egress CA,
 * so HTTPS a handler rewrites still verifies, and the operator's extra CAs):
 * put into the system bundle between markers (for tools that read only that;
 * replaced at every start) and offered through the variables common tools
 * read. Returns those variables, or none when the server sent nothing.
 */
export function installEgressTrust(): Record<string, string> {
  if (!existsSync(EGRESS_CA)) return {};
  const ca = readFileSync(EGRESS_CA, "utf8").trim();
  const block = `${BEGIN}\n${ca}\n${END}\n`;
  const system = SYSTEM_BUNDLES.find((f) => existsSync(f));
  let base = "";
  if (system) {
    try {
      const text = readFileSync(system, "utf8");
      base = withoutBurrowBlock(text);
      const next = `${base.replace(/\n*$/, "\n")}${block}`;
      if (next !== text) writeFileSync(system, next);
    } catch {
      /* a read-only or odd image: the variables below still work */
    }
  }
  writeFileSync(CA_BUNDLE, `${base.replace(/\n*$/, "\n")}${block}`);
  return {
    NODE_EXTRA_CA_CERTS: EGRESS_CA,
    SSL_CERT_FILE: CA_BUNDLE,
    REQUESTS_CA_BUNDLE: CA_BUNDLE,
    CURL_CA_BUNDLE: CA_BUNDLE,
    GIT_SSL_CAINFO: CA_BUNDLE,
  };
}
