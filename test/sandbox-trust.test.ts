/**
 * A sandbox's own extra CAs (`PUT /v1/sandboxes/:id {trust: {extraCaCerts}}`):
 * trusted by curl, Python, Node and git in that sandbox alone, from the next
 * command on; kept on its disk, so sleep, snapshots and forks keep them; a
 * bundle that does not parse is refused and changes nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { startGitServer, type GitServer } from "./helpers/git-server.js";
import { makeTestPki, type TestPki } from "./helpers/tls.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const NODE = "/.burrow/node/lib/ld-linux-x86-64.so.2 --library-path /.burrow/node/lib /.burrow/node/bin/node";

describe("a sandbox's own extra CAs (trust.extraCaCerts)", () => {
  let srv: TestServer;
  let site: TestPki;
  let web: Server;
  let url: string;
  let git: GitServer;
  let pem: string;
  let sha256: string;

  before(async () => {
    site = makeTestPki();
    pem = readFileSync(site.caFile, "utf8");
    sha256 = new X509Certificate(pem).fingerprint256;
    web = createServer({ key: site.key, cert: site.cert }, (req, res) => res.end(`site ${req.url}`));
    const port = await new Promise<number>((r) => web.listen(0, "127.0.0.1", () => r((web.address() as { port: number }).port)));
    url = `https://host.burrow.internal:${port}/hello`;
    git = await startGitServer({ user: "bot", token: "unused" }, { key: site.key, cert: site.cert });
    srv = await startTestServer({ args: ["--egress-allow", "host.burrow.internal"] });
  });
  after(async () => {
    await srv?.cleanup();
    web?.close();
    git?.close();
    site?.cleanup();
  });

  const curl = (sbx: ReturnType<TestServer["burrow"]["sandbox"]>) => sbx.exec(`curl -sS ${url}`);
  const own = async (id: string) => ((await (await srv.api("GET", `/v1/sandboxes/${id}`)).json()).trust.extraCaCerts as { sha256: string }[]).map((c) => c.sha256);

  it("set on a running sandbox: trusted by curl, Python, Node and git from the next command, by no other sandbox, and removed with null", async () => {
    const id = name("trust");
    const sbx = srv.burrow.sandbox(id);
    assert.equal((await curl(sbx)).exitCode, 60); // curl: peer certificate cannot be authenticated
    const put = await srv.api("PUT", `/v1/sandboxes/${id}`, { trust: { extraCaCerts: `a comment before it\n${pem}` } });
    assert.equal(put.status, 200, await put.clone().text());
    assert.deepEqual((await put.json()).trust.extraCaCerts.map((c: { sha256: string }) => c.sha256), [sha256]);
    assert.deepEqual(await own(id), [sha256]);

    const ok = await curl(sbx);
    assert.equal(ok.stdout, "site /hello", ok.stderr);
    const py = await sbx.exec(`/usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('${url}').read().decode())"`);
    assert.equal(py.stdout.trim(), "site /hello", py.stderr);
    // Node does not read HTTP(S)_PROXY: a CONNECT to the egress proxy by hand, then TLS verified against NODE_EXTRA_CA_CERTS.
    const node = await sbx.exec(
      `${NODE} -e "` +
        `const u=new URL('${url}');const r=require('http').request({host:'127.0.0.1',port:3128,method:'CONNECT',path:u.host});` +
        `r.on('connect',(_,s)=>{const t=require('tls').connect({socket:s,servername:u.hostname},()=>t.write('GET /hello HTTP/1.0\\\\r\\\\nHost: '+u.host+'\\\\r\\\\n\\\\r\\\\n'));` +
        `let d='';t.on('data',c=>d+=c);t.on('end',()=>console.log(d.split('\\\\r\\\\n\\\\r\\\\n')[1]));t.on('error',e=>console.log('error '+e.code))});r.end()"`,
    );
    assert.equal(node.stdout.trim(), "site /hello", node.stderr);
    const clone = await sbx.exec(`git clone -q https://host.burrow.internal:${git.port}/public.git /workspace/pub && git -C /workspace/pub log --oneline | wc -l`);
    assert.equal(clone.stdout.trim(), "3", clone.stderr);

    // Another sandbox has neither the file nor the trust.
    const other = srv.burrow.sandbox(name("notrust"));
    assert.equal((await curl(other)).exitCode, 60);
    assert.equal((await other.exec("test -e /etc/burrow/extra-ca-certs.pem")).exitCode, 1);
    assert.equal((await other.exec(`grep -c "${pem.split("\n")[1]}" /.burrow/run/ca-bundle.pem /etc/ssl/certs/ca-certificates.crt`)).stdout.trim(), "/.burrow/run/ca-bundle.pem:0\n/etc/ssl/certs/ca-certificates.crt:0");
    assert.deepEqual(await own(other.id), []);

    const removed = await srv.api("PUT", `/v1/sandboxes/${id}`, { trust: { extraCaCerts: null } });
    assert.equal(removed.status, 200);
    assert.deepEqual(await own(id), []);
    assert.equal((await curl(sbx)).exitCode, 60);
    assert.equal((await sbx.exec("test -e /etc/burrow/extra-ca-certs.pem")).exitCode, 1);
  });

  it("given at creation (the SDK's option), kept across sleep, and carried by a fork of a snapshot", async () => {
    const sbx = srv.burrow.sandbox(name("trustnew"), { trust: { extraCaCerts: pem } });
    assert.equal((await curl(sbx)).stdout, "site /hello");
    await sbx.sleep();
    assert.equal((await srv.burrow.get(sbx.id)).state, "sleeping");
    const woke = await curl(sbx);
    assert.equal(woke.stdout, "site /hello", woke.stderr);
    // Once in the system bundle, however often it starts.
    assert.equal((await sbx.exec(`grep -c "added by Burrow" /etc/ssl/certs/ca-certificates.crt`)).stdout.trim(), "1");
    assert.deepEqual(await own(sbx.id), [sha256]);

    const snap = await sbx.snapshot();
    const [fork] = await srv.burrow.fork(snap, name("trustfork"));
    const forked = await curl(fork!);
    assert.equal(forked.stdout, "site /hello", forked.stderr);
    assert.deepEqual(await own(fork!.id), [sha256]);

    // The registry keeps the fingerprints across a server restart; the sandbox (re-attached, still running) keeps the trust.
    await srv.stop();
    await srv.restart();
    assert.deepEqual(await own(sbx.id), [sha256]);
    assert.deepEqual(await own(fork!.id), [sha256]);
    assert.equal((await curl(srv.burrow.sandbox(fork!.id))).stdout, "site /hello");
  });

  it("a bundle that does not parse is a 400 CA_CERTS_INVALID and stores nothing", async () => {
    const id = name("trustbad");
    const garbage = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    const created = await srv.api("PUT", `/v1/sandboxes/${id}`, { trust: { extraCaCerts: garbage } });
    assert.equal(created.status, 400);
    const body = await created.json();
    assert.equal(body.code, "CA_CERTS_INVALID");
    assert.match(body.message, /trust\.extraCaCerts: certificate 1 of 1 does not parse/);
    assert.equal((await srv.api("GET", `/v1/sandboxes/${id}`)).status, 404);

    // On an existing sandbox: the CAs it had stay, and nothing else in the request is applied either.
    assert.equal((await srv.api("PUT", `/v1/sandboxes/${id}`, { trust: { extraCaCerts: pem } })).status, 201);
    // Empty, no PEM at all, and a server's certificate rather than a CA.
    for (const bad of ["", "hello", site.cert]) {
      const r = await srv.api("PUT", `/v1/sandboxes/${id}`, { labels: { changed: "yes" }, trust: { extraCaCerts: bad } });
      assert.equal(r.status, 400, `${bad.slice(0, 40)}: ${await r.clone().text()}`);
      assert.equal((await r.json()).code, "CA_CERTS_INVALID");
    }
    const info = await (await srv.api("GET", `/v1/sandboxes/${id}`)).json();
    assert.deepEqual(info.labels, {});
    assert.deepEqual(info.trust.extraCaCerts.map((c: { sha256: string }) => c.sha256), [sha256]);
    assert.equal((await srv.burrow.sandbox(id).exec("cat /etc/burrow/extra-ca-certs.pem")).stdout, pem.trim() + "\n");
  });
});
