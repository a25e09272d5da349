/**
 * --extra-ca-certs: a site CA (here a throwaway one, in no bundle) that every
 * sandbox trusts, and that the egress proxy trusts when a handler's fetch
 * verifies an upstream. The file is read again at each sandbox start.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitServer, type GitServer } from "./helpers/git-server.js";
import { makeTestPki, type TestPki } from "./helpers/tls.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const ROOT = join(import.meta.dirname, "..");
const SECRET = `extra-ca-secret-${Math.random().toString(36).slice(2)}`;

describe("extra CA certificates (--extra-ca-certs)", () => {
  let srv: TestServer;
  let site: TestPki;
  let other: TestPki;
  let web: Server;
  let webPort: number;
  let git: GitServer;
  const dir = mkdtempSync(join(tmpdir(), "burrow-extra-ca-"));
  const bundle = join(dir, "site-ca.pem");

  before(async () => {
    site = makeTestPki();
    other = makeTestPki();
    web = createServer({ key: site.key, cert: site.cert }, (req, res) => res.end(`site ${req.url} ${req.headers.authorization === `Bearer ${SECRET}` ? "with-token" : "no-token"}`));
    webPort = await new Promise<number>((r) => web.listen(0, "127.0.0.1", () => r((web.address() as { port: number }).port)));
    git = await startGitServer({ user: "bot", token: "unused" }, { key: site.key, cert: site.cert });
    copyFileSync(other.caFile, bundle); // first a CA that signs nothing here
    srv = await startTestServer({
      args: ["--extra-ca-certs", bundle, "--egress-allow", "host.burrow.internal", "--config", join(ROOT, "test/fixtures/egress-config.ts")],
      env: { TEST_API_SECRET: SECRET, TEST_GIT_SECRET: "unused", TEST_S3_SECRET: "unused" },
    });
  });
  after(async () => {
    await srv.cleanup();
    web.close();
    git.close();
    site.cleanup();
    other.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;
  const status = async () => (await (await srv.api("GET", "/v1/status")).json()).extraCaCerts as { file: string; certificates: { sha256: string; subject: string }[] };

  it("a server signed by a CA no bundle holds is refused, then trusted by curl, Python, Node and git once the file names it", async () => {
    const url = `https://host.burrow.internal:${webPort}/hello`;
    const sbx = srv.burrow.sandbox(name("extraca"));
    const refused = await sbx.exec(`curl -sS ${url}`);
    assert.equal(refused.exitCode, 60, refused.stderr); // curl: peer certificate cannot be authenticated
    assert.deepEqual((await status()).certificates.map((c) => c.sha256), [fingerprint(other.caFile)]);

    writeFileSync(bundle, readFileSync(other.caFile, "utf8") + readFileSync(site.caFile, "utf8"));
    assert.deepEqual((await status()).certificates.map((c) => c.sha256), [fingerprint(other.caFile), fingerprint(site.caFile)]);
    await sbx.sleep(); // the bundle is built at each start
    assert.equal((await sbx.exec(`curl -sS ${url}`)).stdout, "site /hello no-token");
    const py = await sbx.exec(`/usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('${url}').read().decode())"`);
    assert.equal(py.stdout.trim(), "site /hello no-token", py.stderr);
    const node = await sbx.exec(
      `/.burrow/node/lib/ld-linux-x86-64.so.2 --library-path /.burrow/node/lib /.burrow/node/bin/node -e "` +
        `const u=new URL('${url}');const r=require('http').request({host:'127.0.0.1',port:3128,method:'CONNECT',path:u.host});` +
        `r.on('connect',(_,s)=>{const t=require('tls').connect({socket:s,servername:u.hostname},()=>t.write('GET /hello HTTP/1.0\\\\r\\\\nHost: '+u.host+'\\\\r\\\\n\\\\r\\\\n'));` +
        `let d='';t.on('data',c=>d+=c);t.on('end',()=>console.log(d.split('\\\\r\\\\n\\\\r\\\\n')[1]));t.on('error',e=>console.log('error '+e.code))});r.end()"`,
    );
    assert.equal(node.stdout.trim(), "site /hello no-token", node.stderr);
    const clone = await sbx.exec(`git clone -q https://host.burrow.internal:${git.port}/public.git /workspace/pub && git -C /workspace/pub log --oneline | wc -l`);
    assert.equal(clone.stdout.trim(), "3", clone.stderr);
    // The system bundle holds it too (for tools that read only that), once, however often the sandbox starts.
    await sbx.sleep();
    const count = await sbx.exec(`grep -c "added by Burrow" /etc/ssl/certs/ca-certificates.crt`);
    assert.equal(count.stdout.trim(), "1");
  });

  it("the egress proxy verifies a handler's upstream against the extra CAs", async () => {
    const sbx = srv.burrow.sandbox(name("extraup"));
    const host = `host.burrow.internal:${webPort}`;
    await sbx.setEgress({ byHost: { [host]: "api" } });
    const r = await sbx.exec(`curl -sS https://${host}/via-handler`);
    assert.equal(r.stdout, "site /via-handler with-token", r.stderr);
  });

  it("a file that does not parse is refused at start with a message naming it", () => {
    const bad = join(dir, "bad.pem");
    writeFileSync(bad, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    const r = spawnSync(process.execPath, [join(ROOT, "dist/cli.js"), "serve", "--port", "0", "--data", join(dir, "data"), "--extra-ca-certs", bad], {
      env: { ...process.env, BURROW_POOL: "0", BURROW_TOKEN: "x" },
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, new RegExp(`--extra-ca-certs ${bad}: certificate 1 of 1 does not parse`));
  });
});

describe("test servers for sandboxes that reach the internet", () => {
  it("startTestServer({ internet: true }) gives the server the host's CA bundle as extra CAs", { skip: !existsSync("/etc/ssl/certs/ca-certificates.crt") }, async () => {
    const srv = await startTestServer({ internet: true });
    try {
      const status = (await (await srv.api("GET", "/v1/status")).json()).extraCaCerts as { file: string; certificates: unknown[] };
      assert.equal(status.file, "/etc/ssl/certs/ca-certificates.crt");
      assert.ok(status.certificates.length > 0);
    } finally {
      await srv.cleanup();
    }
  });
});
