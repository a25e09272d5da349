import { readFileSync, statSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { type CertInfo, parsePemBundle } from "../lib/pem.js";

export { type CertInfo, parsePemBundle };

/**
 * Where every sandbox's trust comes from: Burrow's egress CA and the
 * operator's extra CAs (`--extra-ca-certs`). The bundle written into each
 * sandbox at start and the egress proxy's upstream verification are both
 * built here, from the same certificates. The file is read again when it
 * changes, so a new bundle counts from the next sandbox start or wake.
 */
export class TrustSources {
  private cached: { key: string; certs: { pem: string; info: CertInfo }[] } | undefined;

  constructor(
    private readonly egressCaPem: string,
    readonly extraFile?: string,
  ) {
    this.extra(); // a bundle that does not parse is refused at start
  }

  /** The operator's extra CAs as they are in the file now. */
  extra(): { pem: string; info: CertInfo }[] {
    if (!this.extraFile) return [];
    let key: string;
    try {
      const st = statSync(this.extraFile);
      key = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (err) {
      throw new Error(`--extra-ca-certs ${this.extraFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; give a readable PEM file`);
    }
    if (this.cached?.key !== key) this.cached = { key, certs: parsePemBundle(readFileSync(this.extraFile, "utf8"), `--extra-ca-certs ${this.extraFile}`) };
    return this.cached.certs;
  }

  /**
   * What a sandbox trusts beyond its image: the egress CA and the extra CAs.
   * A file that stopped parsing after start keeps the last good version, so
   * sandboxes still start; the server's log says so.
   */
  sandboxPem(): string {
    return [this.egressCaPem.trim(), ...this.extraSafe().map((c) => c.pem)].join("\n") + "\n";
  }

  /** For `GET /v1/status`: which extra CAs are in force. */
  status(): { extraCaCerts: { file: string | null; certificates: CertInfo[] } } {
    return { extraCaCerts: { file: this.extraFile ?? null, certificates: this.extraSafe().map((c) => c.info) } };
  }

  /**
   * CAs the proxy verifies upstreams against: Node's store (with what the
   * server's NODE_EXTRA_CA_CERTS adds) plus the extra CAs; undefined (Node's
   * default) when there are none. The key changes when the set does.
   */
  upstream(): { key: string; ca: string[] | undefined } {
    const extra = this.extraSafe();
    if (!extra.length) return { key: "default", ca: undefined };
    const nodeExtra = process.env.NODE_EXTRA_CA_CERTS ? safeRead(process.env.NODE_EXTRA_CA_CERTS) : "";
    return { key: extra.map((c) => c.info.sha256).join(","), ca: [...rootCertificates, ...(nodeExtra ? [nodeExtra] : []), ...extra.map((c) => c.pem)] };
  }

  private extraSafe(): { pem: string; info: CertInfo }[] {
    try {
      return this.extra();
    } catch (err) {
      console.error(`burrow: ${(err as Error).message}; keeping the extra CAs read before`);
      return this.cached?.certs ?? [];
    }
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
