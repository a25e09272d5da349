import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { CertInfo } from "../lib/pem.js";
import { RUN_DIR } from "./env.js";

/** What the server puts in the run directory: Burrow's egress CA and the operator's extra CAs (PEM). */
export const EGRESS_CA = `${RUN_DIR}/egress-ca.pem`;
/** The system's trusted certificates plus those: what the TLS variables point at. */
export const CA_BUNDLE = `${RUN_DIR}/ca-bundle.pem`;
/** What NODE_EXTRA_CA_CERTS names: the server's certificates and the sandbox's own. The runtime writes it, so it can rewrite it when those change. */
export const NODE_CA = `${RUN_DIR}/extra-ca.pem`;
/**
 * The sandbox's own extra CAs (`PUT /v1/sandboxes/:id {trust}`). On its own
 * disk, so sleep, snapshots and forks keep them and no other sandbox sees them.
 */
export const SANDBOX_CA = "/etc/burrow/extra-ca-certs.pem";

const SYSTEM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];
const BEGIN = "# --- added by Burrow at sandbox start (egress CA, --extra-ca-certs) ---";
const END = "# --- end of Burrow's certificates ---";

/** The bundle without what an earlier start added, so a CA removed from the server's settings is trusted no more. */
export function withoutBurrowBlock(text: string): string {
  const start = text.indexOf(BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  return endingInNewline(text.slice(0, start) + (end < 0 ? "" : text.slice(end + END.length)));
}

/**
 * The text with its trailing newlines made one. A loop from the end: a regular
 * expression anchored at the end (`/\n*$/`) is tried at every offset of a
 * 200 KB bundle, milliseconds of every sandbox start.
 */
function endingInNewline(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 10) end--;
  return `${text.slice(0, end)}\n`;
}

/**
 * Make programs in the sandbox trust what the server sent (the egress CA,
 * so HTTPS a handler rewrites still verifies, and the operator's extra CAs)
 * and the sandbox's own CAs (SANDBOX_CA), if it has any:
 * put into the system bundle between markers (for tools that read only that;
 * replaced at every start) and offered through the variables common tools
 * read. Returns those variables, or none when there is nothing to trust.
 */
export async function installEgressTrust(): Promise<Record<string, string>> {
  const server = existsSync(EGRESS_CA) ? readFileSync(EGRESS_CA, "utf8").trim() : "";
  const own = (await ownCerts()).map((c) => c.pem);
  if (!server && !own.length) return {};
  const ca = [server, ...own].filter(Boolean).join("\n");
  const block = `${BEGIN}\n${ca}\n${END}\n`;
  const system = SYSTEM_BUNDLES.find((f) => existsSync(f));
  let base = "";
  if (system) {
    try {
      const text = readFileSync(system, "utf8");
      base = withoutBurrowBlock(text);
      const next = `${endingInNewline(base)}${block}`;
      if (next !== text) writeFileSync(system, next);
    } catch {
      /* a read-only or odd image: the variables below still work */
    }
  }
  writeFileSync(CA_BUNDLE, `${base ? endingInNewline(base) : ""}${block}`);
  writeFileSync(NODE_CA, `${ca}\n`);
  return {
    NODE_EXTRA_CA_CERTS: NODE_CA,
    SSL_CERT_FILE: CA_BUNDLE,
    REQUESTS_CA_BUNDLE: CA_BUNDLE,
    CURL_CA_BUNDLE: CA_BUNDLE,
    GIT_SSL_CAINFO: CA_BUNDLE,
  };
}

/**
 * The sandbox's own CAs as its file holds them now; a file its processes
 * spoiled counts as none (and the runtime's log says why). The parser (and
 * node:crypto with it) loads only for a sandbox that has the file: most never
 * do, and their starts skip it.
 */
async function ownCerts(): Promise<{ pem: string; info: CertInfo }[]> {
  let text: string;
  try {
    text = readFileSync(SANDBOX_CA, "utf8");
  } catch {
    return [];
  }
  try {
    const { parsePemBundle } = await import("../lib/pem.js");
    return parsePemBundle(text, SANDBOX_CA);
  } catch (err) {
    console.error(`runtime: ${(err as Error).message}; the sandbox's own CAs are not trusted until the file is fixed or set again`);
    return [];
  }
}

/** `GET /trust`: the sandbox's own CAs (subject, fingerprint, expiry). */
export async function sandboxTrust(): Promise<CertInfo[]> {
  return (await ownCerts()).map((c) => c.info);
}

/**
 * `PUT /trust`: store the sandbox's own CAs (already checked by the server),
 * or remove them (null), and rebuild the bundles at once, so every command
 * started after trusts exactly those. Returns what is trusted now and the
 * variables naming the bundles (for a runtime that started with none).
 */
export async function setSandboxTrust(pem: string | null): Promise<{ certificates: CertInfo[]; env: Record<string, string> }> {
  if (pem === null) rmSync(SANDBOX_CA, { force: true });
  else {
    mkdirSync(dirname(SANDBOX_CA), { recursive: true });
    // Whole or not at all: a start that reads it meanwhile sees the old file or the new one.
    writeFileSync(`${SANDBOX_CA}.tmp`, pem, { mode: 0o644 });
    renameSync(`${SANDBOX_CA}.tmp`, SANDBOX_CA);
  }
  const env = await installEgressTrust();
  return { certificates: await sandboxTrust(), env };
}
