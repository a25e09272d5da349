import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { join } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";

const openssl = (args: string[], input?: string) => execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] });

/**
 * This installation's egress certificate authority. It signs a certificate
 * for each host whose HTTPS traffic a handler rewrites, so the proxy can
 * stand in for that host. Sandboxes trust its certificate; its key stays in
 * the data directory (root only) and never enters a sandbox.
 */
export class EgressCA {
  readonly certPem: string;
  private readonly keyFile: string;
  private readonly certFile: string;
  private readonly leafKeyPem: string;
  private readonly leafKeyFile: string;
  private readonly contexts = new Map<string, SecureContext>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    this.keyFile = join(dir, "ca.key");
    this.certFile = join(dir, "ca.pem");
    const leafKey = join(dir, "leaf.key");
    this.leafKeyFile = leafKey;
    if (!existsSync(this.keyFile) || !existsSync(this.certFile)) {
      const name = `Burrow egress CA ${randomBytes(4).toString("hex")}`;
      openssl([
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", this.keyFile, "-out", this.certFile, "-days", "3650", "-subj", `/CN=${name}`,
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      ]);
      chmodSync(this.keyFile, 0o600);
    }
    if (!existsSync(leafKey)) {
      writeFileSync(leafKey, openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]), { mode: 0o600 });
    }
    this.certPem = readFileSync(this.certFile, "utf8");
    this.leafKeyPem = readFileSync(leafKey, "utf8");
  }

  /** A TLS context presenting a certificate for `host`, signed by this CA (made once per host, then cached). */
  contextFor(host: string): SecureContext {
    const h = host.toLowerCase();
    let ctx = this.contexts.get(h);
    if (!ctx) {
      ctx = createSecureContext({ key: this.leafKeyPem, cert: this.leafFor(h) + this.certPem });
      this.contexts.set(h, ctx);
    }
    return ctx;
  }

  private leafFor(host: string): string {
    const cache = join(this.dir, "leaves");
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    const file = join(cache, `${host.replace(/[^a-z0-9.-]/g, "_")}.pem`);
    if (existsSync(file)) return readFileSync(file, "utf8");
    const san = isIP(host) ? `IP:${host}` : `DNS:${host}`;
    const csr = openssl(["req", "-new", "-key", this.leafKeyFile, "-subj", `/CN=${host.slice(0, 64)}`]);
    const ext = join(cache, `.${randomBytes(4).toString("hex")}.ext`);
    writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n`);
    try {
      const pem = openssl(
        ["x509", "-req", "-CA", this.certFile, "-CAkey", this.keyFile, "-set_serial", `0x${randomBytes(12).toString("hex")}`, "-days", "397", "-extfile", ext],
        csr.toString(),
      ).toString();
      writeFileSync(file, pem);
      return pem;
    } finally {
      execFileSync("rm", ["-f", ext]);
    }
  }
}
