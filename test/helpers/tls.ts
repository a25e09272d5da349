import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPki {
  caFile: string;
  key: string;
  cert: string;
  cleanup(): void;
}

/**
 * A certificate authority of the test's own and a server certificate from it
 * for `host.burrow.internal` and 127.0.0.1: a private HTTPS service that
 * nothing trusts unless told to. `ips` adds addresses to the certificate
 * (a documentation address an upstream proxy in a test stands in for).
 */
export function makeTestPki(opts: { ips?: string[] } = {}): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "burrow-pki-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
    "-days", "2", "-subj", "/CN=Burrow test upstream CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
  ssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=host.burrow.internal");
  writeFileSync(join(dir, "ext"), `subjectAltName=DNS:host.burrow.internal,IP:127.0.0.1${(opts.ips ?? []).map((ip) => `,IP:${ip}`).join("")}\nextendedKeyUsage=serverAuth\n`);
  ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "server.pem");
  return {
    caFile: join(dir, "ca.pem"),
    key: readFileSync(join(dir, "server.key"), "utf8"),
    cert: readFileSync(join(dir, "server.pem"), "utf8"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
