import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import { startGitServer, type GitServer } from "./helpers/git-server.js";
import { makeTestPki, type TestPki } from "./helpers/tls.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const API_SECRET = `api-secret-${Math.random().toString(36).slice(2)}`;
const GIT_SECRET = `git-secret-${Math.random().toString(36).slice(2)}`;

/** Fetch over the proxy from the Node that Burrow injects, trusting what NODE_EXTRA_CA_CERTS names. */
const nodeFetch = (url: string) => `cat > /tmp/get.js <<'JS'
const http = require("http"), tls = require("tls");
const u = new URL(${JSON.stringify(url)});
const req = http.request({ host: "127.0.0.1", port: 3128, method: "CONNECT", path: u.host });
req.on("connect", (res, socket) => {
  const s = tls.connect({ socket, servername: u.hostname }, () => s.write("GET " + u.pathname + " HTTP/1.0\\r\\nHost: " + u.host + "\\r\\nConnection: close\\r\\n\\r\\n"));
  let d = ""; s.on("data", (c) => (d += c)); s.on("end", () => console.log(d.split("\\r\\n\\r\\n")[1]));
  s.on("error", (e) => console.log("error " + e.code));
});
req.end();
JS
/.burrow/node/lib/ld-linux-x86-64.so.2 --library-path /.burrow/node/lib /.burrow/node/bin/node /tmp/get.js`;

describe("egress credential injection over real TLS", () => {
  let srv: TestServer;
  let pki: TestPki;
  let api: Server;
  let apiPort: number;
  let git: GitServer;
  const seen: string[] = [];

  before(async () => {
    pki = makeTestPki();
    api = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
      const auth = req.headers.authorization ?? "";
      seen.push(auth);
      res.writeHead(auth === `Bearer ${API_SECRET}` ? 200 : 401, { "content-type": "application/json" });
      // Says whether the credential was right; never echoes it.
      res.end(JSON.stringify({ authorized: auth === `Bearer ${API_SECRET}`, path: req.url }));
    });
    apiPort = await new Promise<number>((r) => api.listen(0, "127.0.0.1", () => r((api.address() as { port: number }).port)));
    git = await startGitServer({ user: "bot", token: GIT_SECRET }, { key: pki.key, cert: pki.cert });
    srv = await startTestServer({
      args: ["--config", join(import.meta.dirname, "fixtures/egress-config.ts")],
      env: { TEST_API_SECRET: API_SECRET, TEST_GIT_SECRET: GIT_SECRET, TEST_S3_SECRET: "S3RVER", NODE_EXTRA_CA_CERTS: pki.caFile },
    });
  });
  after(async () => {
    await srv.cleanup();
    api.close();
    git.close();
    pki.cleanup();
  });

  const apiHost = () => `host.burrow.internal:${apiPort}`;

  it("adds the token for curl, Node, Python and git, while nothing inside holds it", async () => {
    // Whole seconds, a little early: find compares modification times to the second.
    const madeAt = Math.floor(Date.now() / 1000) - 2;
    const sbx = srv.burrow.sandbox(name("creds"));
    const gitHost = `host.burrow.internal:${git.port}`;
    const policy = await sbx.setEgress({ allowedHosts: [apiHost(), gitHost], byHost: { [apiHost()]: "api", [gitHost]: "git" } });
    assert.equal(policy.byHost[apiHost()], "api");
    assert.deepEqual(policy.handlers.sort(), ["api", "broken", "canned", "git", "s3"]);
    const url = `https://${apiHost()}/v1/whoami`;
    assert.equal((await sbx.exec(`curl -sS ${url}`)).stdout, `{"authorized":true,"path":"/v1/whoami"}`);
    assert.equal((await sbx.exec(nodeFetch(url))).stdout.trim(), `{"authorized":true,"path":"/v1/whoami"}`);
    const py = await sbx.exec(`/usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('${url}').read().decode())"`);
    assert.equal(py.stdout.trim(), `{"authorized":true,"path":"/v1/whoami"}`, py.stderr);
    const clone = await sbx.exec(`git clone -q https://${gitHost}/private.git /workspace/private && git -C /workspace/private log --oneline | wc -l`);
    assert.equal(clone.stdout.trim(), "3", clone.stderr);
    assert.ok(seen.includes(`Bearer ${API_SECRET}`));

    // Everything the sandbox can read: files, every process's environment and command line, its own env.
    // Files: every one written since the sandbox was made, wherever it is (the image's 1.7 GB cannot hold
    // a secret the server only has now, and reading them all from a cold disk outlasts the command's timeout).
    // The needles go in a file the search skips, so no command line carries them.
    // A control needle in a file of its own shows the search reaches what was written.
    const control = `control-${Math.random().toString(36).slice(2)}`;
    await sbx.writeFile("/needle/patterns", `${API_SECRET}\n${GIT_SECRET}\n${control}\n`);
    await sbx.writeFile("/tmp/control.txt", control);
    const search = await sbx.exec(
      `find / \\( -path /proc -o -path /sys -o -path /needle \\) -prune -o -type f -newermt @${madeAt} -print0 2>/dev/null | xargs -0 -r grep -lsF -f /needle/patterns | head; ` +
        "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' | grep -cF -f /needle/patterns; env | grep -c SECRET",
      { timeoutMs: 120_000 },
    );
    assert.equal(search.stdout, "/tmp/control.txt\n0\n0\n");
    assert.doesNotMatch((await sbx.exec("cat /workspace/private/.git/config")).stdout, /secret|bot:/);
    const audit = await sbx.egressAudit();
    assert.doesNotMatch(JSON.stringify(audit), new RegExp(`${API_SECRET}|${GIT_SECRET}`));
    const apiEvent = audit.find((e) => e.host === "host.burrow.internal" && e.port === apiPort && e.mode === "intercept");
    assert.ok(apiEvent, JSON.stringify(audit));
    assert.equal(apiEvent!.handler, "api");
    assert.equal(apiEvent!.method, "GET");
    assert.equal(apiEvent!.path, "/v1/whoami");
    assert.equal(apiEvent!.status, 200);
    assert.ok(apiEvent!.bytesIn > 0);
  });

  it("tunnels hosts without a handler untouched: the sandbox sees the real certificate and no token is added", async () => {
    const sbx = srv.burrow.sandbox(name("plain"));
    await sbx.setEgress({ allowedHosts: [apiHost()] });
    const strict = await sbx.exec(`curl -sS https://${apiHost()}/x`);
    assert.notEqual(strict.exitCode, 0, "the test CA is not trusted inside, so the real certificate fails verification");
    assert.match(strict.stderr, /certificate/i);
    assert.equal((await sbx.exec(`curl -sSk https://${apiHost()}/x`)).stdout, `{"authorized":false,"path":"/x"}`);
    // A tunnel's event is written when it closes, just after curl returns.
    let tunnel: Awaited<ReturnType<typeof sbx.egressAudit>> = [];
    for (let i = 0; i < 40 && tunnel.length < 2; i++, await new Promise((r) => setTimeout(r, 50)))
      tunnel = (await sbx.egressAudit()).filter((e) => e.mode === "tunnel" && e.decision === "allowed");
    assert.equal(tunnel.length, 2, JSON.stringify(tunnel));
    assert.ok(tunnel.every((e) => e.handler === null && e.bytesIn > 0), JSON.stringify(tunnel));
  });

  it("a failing handler answers 502 without its message, and a handler may answer by itself", async () => {
    const sbx = srv.burrow.sandbox(name("broken"));
    await sbx.setEgress({ allowedHosts: [apiHost()], byHost: { [apiHost()]: "broken" } });
    const after = await sbx.setOutboundByHost("canned.example", "canned");
    assert.deepEqual(after.byHost, { [apiHost()]: "broken", "canned.example": "canned" });
    const r = await sbx.exec(`curl -sS -D - https://${apiHost()}/`);
    assert.match(r.stdout, /^HTTP\/1.1 502 /m);
    assert.match(r.stdout, /egress handler broken failed/);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(API_SECRET));
    const canned = await sbx.exec("curl -sS -D - http://canned.example/anything");
    assert.match(canned.stdout, /x-canned: yes/);
    assert.match(canned.stdout, /from the handler$/);
  });

  it("the CA key never enters a sandbox; its certificate is in the trust store and variables", async () => {
    const sbx = srv.burrow.sandbox(name("trust"));
    const r = await sbx.exec("echo $NODE_EXTRA_CA_CERTS $SSL_CERT_FILE $REQUESTS_CA_BUNDLE $CURL_CA_BUNDLE $GIT_SSL_CAINFO; grep -c 'BEGIN CERTIFICATE' /.burrow/run/egress-ca.pem; grep -rlsIF 'PRIVATE KEY' /.burrow /etc/ssl | head -3");
    // Node reads a file the runtime writes (the egress CA plus any extra CAs); the other tools read the whole bundle.
    assert.equal(r.stdout, "/.burrow/run/extra-ca.pem /.burrow/run/ca-bundle.pem /.burrow/run/ca-bundle.pem /.burrow/run/ca-bundle.pem /.burrow/run/ca-bundle.pem\n1\n");
    const ca = (await sbx.exec("cat /.burrow/run/egress-ca.pem")).stdout.trim();
    assert.ok((await sbx.exec("cat /.burrow/run/extra-ca.pem")).stdout.includes(ca), "Node's file holds the egress CA");
    assert.ok((await sbx.exec("cat /etc/ssl/certs/ca-certificates.crt")).stdout.includes(ca));
  });

  it("deny beats an earlier handler binding: no credential is added, and PUT replaces the whole policy", async () => {
    const sbx = srv.burrow.sandbox(name("denywins"));
    await sbx.setEgress({ allowedHosts: [apiHost()], byHost: { [apiHost()]: "api" } });
    const url = `https://${apiHost()}/v1/deny`;
    assert.equal((await sbx.exec(`curl -sS ${url}`)).stdout, `{"authorized":true,"path":"/v1/deny"}`);
    const before = seen.length;
    // The body, sent raw: it names no byHost, so the binding above must be gone as well as overruled.
    const put = await srv.api("PUT", `/v1/sandboxes/${sbx.id}/egress`, { internet: false, allowedHosts: [], deniedHosts: ["127.0.0.1"] });
    assert.equal(put.status, 200);
    assert.deepEqual((await put.json()).byHost, {});
    const r = await sbx.exec(`curl -s -o /dev/null -w '%{http_connect}' ${url}`);
    assert.equal(r.stdout, "403");
    assert.equal(seen.length, before, "the upstream saw a request that deny should have stopped");
    // Bound again by PATCH (which merges) while the deny stays: still refused, by address, before the handler runs.
    const patched = await sbx.updateEgress({ allowedHosts: [apiHost()], byHost: { [apiHost()]: "api" } });
    assert.deepEqual(patched.deniedHosts, ["127.0.0.1"]);
    assert.equal(patched.internet, false);
    assert.equal((await sbx.exec(`curl -s -o /dev/null -w '%{http_connect}' ${url}`)).stdout, "403");
    assert.equal((await sbx.exec(`curl -sS -o /dev/null -w '%{http_code}' http://${apiHost()}/plain`)).stdout, "403");
    assert.equal(seen.length, before);
    const denied = (await sbx.egressAudit()).filter((e) => e.decision === "denied");
    assert.deepEqual(
      denied.map((e) => [e.handler, /internet access is off/.test(e.reason ?? "") ? "internet off" : /which is in deniedHosts/.test(e.reason ?? "") ? "denied" : e.reason]),
      [[null, "internet off"], [null, "denied"], [null, "denied"]],
    );
    // PATCH removes one binding with null and leaves the rest.
    const removed = await sbx.updateEgress({ byHost: { [apiHost()]: null } });
    assert.deepEqual(removed.byHost, {});
    assert.deepEqual(removed.allowedHosts, [apiHost()]);
  });

  it("a deny set while an intercepted TLS connection is open stops its next request", async () => {
    const sbx = srv.burrow.sandbox(name("denylive"));
    await sbx.setEgress({ allowedHosts: [apiHost()], byHost: { [apiHost()]: "api" } });
    // Two requests on one kept-alive connection, with the policy changed in between (the test says when, through a file).
    const get = (path: string) => `"GET ${path} HTTP/1.1\\r\\nHost: ${apiHost()}\\r\\n\\r\\n"`;
    await sbx.writeFile(
      "/tmp/two.js",
      `const http = require("http"), tls = require("tls"), fs = require("fs");
const req = http.request({ host: "127.0.0.1", port: 3128, method: "CONNECT", path: "${apiHost()}" });
req.on("connect", (res, socket) => {
  const s = tls.connect({ socket, servername: "host.burrow.internal" });
  let d = "";
  s.on("data", (c) => { d += c; if (d.includes("authorized")) fs.writeFileSync("/tmp/first-done", "1"); });
  s.on("error", (e) => console.log("error " + e.code));
  s.write(${get("/first")});
  const wait = setInterval(() => {
    if (!fs.existsSync("/tmp/go")) return;
    clearInterval(wait);
    s.write(${get("/second")});
    setTimeout(() => { console.log((d.match(/^HTTP\\/1\\.1 \\d+/gm) || []).join(" | ")); process.exit(0); }, 2000);
  }, 20);
});
req.end();
`,
    );
    const script = "/.burrow/node/lib/ld-linux-x86-64.so.2 --library-path /.burrow/node/lib /.burrow/node/bin/node /tmp/two.js";
    const run = sbx.exec(script, { timeoutMs: 30_000 });
    for (let i = 0; i < 200 && (await sbx.exec("test -f /tmp/first-done && echo y")).stdout !== "y\n"; i++) await new Promise((r) => setTimeout(r, 50));
    const before = seen.length;
    await sbx.updateEgress({ deniedHosts: ["127.0.0.0/8"] });
    await sbx.writeFile("/tmp/go", "1");
    const r = await run;
    assert.equal(r.stdout.trim(), "HTTP/1.1 200 | HTTP/1.1 403", r.stderr);
    assert.equal(seen.length, before);
  });

  it("refuses a byHost that names no handler", async () => {
    const r = await srv.api("PUT", `/v1/sandboxes/${name("nohandler")}/egress`, { byHost: { "x.example": "nope" } });
    assert.equal(r.status, 400);
    const body = await r.json();
    assert.equal(body.code, "EGRESS_HANDLER_NOT_FOUND");
    assert.match(body.message, /offers api, git, s3, broken, canned/);
  });
});
