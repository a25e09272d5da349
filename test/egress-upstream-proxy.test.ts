/**
 * --upstream-proxy (and HTTPS_PROXY/HTTP_PROXY of the server's environment):
 * the egress proxy dials allowed destinations through an operator's HTTP
 * proxy, after its own decision. The upstream proxy here is a small one
 * written in the test: it records what it is asked and, whatever address it
 * is asked for, connects only to servers of this test on 127.0.0.1 (the
 * address asked for is a documentation one, 203.0.113.7, that is never
 * dialled).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noProxyMatches, parseProxyUrl, UpstreamDialer, upstreamProxyConfig } from "../src/egress/upstream-proxy.js";
import { makeTestPki, type TestPki } from "./helpers/tls.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const ROOT = join(import.meta.dirname, "..");
const PUBLIC = "203.0.113.7"; // TEST-NET-3: public to the policy, never dialled by anything here
const SECRET = `upstream-proxy-secret-${Math.random().toString(36).slice(2)}`;

interface Seen {
  kind: "CONNECT" | "http";
  target: string;
  auth: string | undefined;
  host: string | undefined;
}

/** A CONNECT + absolute-form proxy that sends every tunnel to `httpsPort` and every plain request to `httpPort`, on 127.0.0.1. */
async function startTestProxy(httpPort: number, httpsPort: number): Promise<{ port: number; seen: Seen[]; close(): void }> {
  const seen: Seen[] = [];
  const server: Server = createHttpServer((req, res) => {
    seen.push({ kind: "http", target: req.url ?? "", auth: req.headers["proxy-authorization"], host: req.headers.host });
    const target = new URL(req.url ?? "/");
    const { "proxy-authorization": _auth, ...headers } = req.headers;
    const up = httpRequest({ host: "127.0.0.1", port: httpPort, method: req.method, path: target.pathname + target.search, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connect", (req, socket, head) => {
    seen.push({ kind: "CONNECT", target: req.url ?? "", auth: req.headers["proxy-authorization"], host: req.headers.host });
    socket.on("error", () => socket.destroy());
    if (req.url?.endsWith(":8443")) return void socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    const up = connect(httpsPort, "127.0.0.1", () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on("error", () => socket.destroy());
    socket.on("close", () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as AddressInfo).port, seen, close: () => (server.close(), server.closeAllConnections()) };
}

describe("upstream proxy: settings", () => {
  it("parses proxy URLs, refusing what is not one with a sentence that hides the password", () => {
    const p = parseProxyUrl("http://bot:p%40ss@proxy.corp.example:3128", "--upstream-proxy");
    assert.deepEqual(p, { host: "proxy.corp.example", port: 3128, authorization: `Basic ${Buffer.from("bot:p@ss").toString("base64")}`, display: "http://proxy.corp.example:3128" });
    assert.equal(parseProxyUrl("127.0.0.1:8080", "HTTPS_PROXY").display, "http://127.0.0.1:8080");
    assert.equal(parseProxyUrl("http://[::1]", "x").port, 80);
    assert.throws(() => parseProxyUrl("https://u:hunter2@proxy:443", "--upstream-proxy"), (e: Error) => /only http:\/\/ proxies/.test(e.message) && !e.message.includes("hunter2"));
    assert.throws(() => parseProxyUrl("socks5://proxy:1080", "--upstream-proxy"), /uses socks5/);
    assert.throws(() => parseProxyUrl("http://proxy:3128/path", "--upstream-proxy"), /has a path or query/);
    assert.throws(() => parseProxyUrl("http://proxy:99999", "--upstream-proxy"), /is not a URL/);
  });

  it("the flag wins over the environment, none turns it off, lower case wins as curl reads it; without any setting nothing is proxied", () => {
    const env = { HTTPS_PROXY: "http://upper:1", https_proxy: "http://lower:2", HTTP_PROXY: "http://plain:3", NO_PROXY: "internal.example,10.0.0.0/8" };
    const fromEnv = upstreamProxyConfig(undefined, env);
    assert.equal(fromEnv.tunnel?.display, "http://lower:2");
    assert.equal(fromEnv.http?.display, "http://plain:3");
    assert.deepEqual(fromEnv.noProxy, ["internal.example", "10.0.0.0/8"]);
    const flag = upstreamProxyConfig("http://flag:4", env);
    assert.equal(flag.tunnel?.display, "http://flag:4");
    assert.equal(flag.http?.display, "http://flag:4");
    assert.deepEqual(upstreamProxyConfig("none", env), { noProxy: fromEnv.noProxy });
    const direct = new UpstreamDialer(upstreamProxyConfig(undefined, {}));
    assert.equal(direct.proxyFor("tunnel", "example.com", PUBLIC, 443), undefined);
    assert.equal(direct.proxyFor("http", "example.com", PUBLIC, 80), undefined);
  });

  it("loopback, the host alias and NO_PROXY matches are dialled directly", () => {
    const d = new UpstreamDialer(upstreamProxyConfig("http://proxy:3128", { NO_PROXY: ".corp.example,registry.example:8443,198.51.100.0/24,192.0.2.9" }));
    assert.equal(d.proxyFor("tunnel", "example.com", PUBLIC, 443)?.display, "http://proxy:3128");
    for (const [host, address, port] of [
      ["localhost", "127.0.0.1", 80], ["host.burrow.internal", "127.0.0.1", 8080], ["x", "::1", 443], ["x", "::ffff:127.0.0.5", 443],
      ["git.corp.example", PUBLIC, 443], ["corp.example", PUBLIC, 443], ["registry.example", PUBLIC, 8443], ["y", "198.51.100.20", 443], ["192.0.2.9", "192.0.2.9", 80],
    ] as const)
      assert.equal(d.proxyFor("tunnel", host, address, port), undefined, `${host} ${address}:${port}`);
    assert.ok(d.proxyFor("tunnel", "registry.example", PUBLIC, 443), "a port in NO_PROXY is that port only");
    assert.ok(d.proxyFor("tunnel", "notcorp.example", PUBLIC, 443), "a suffix matches on a label boundary");
    assert.equal(noProxyMatches(["*"], "anything", PUBLIC, 1), true);
    assert.equal(noProxyMatches(["10.0.0.0/99"], "x", "10.1.1.1", 1), false);
  });

  it("a malformed --upstream-proxy stops the server at start with a clear sentence", () => {
    const dir = mkdtempSync(join(tmpdir(), "burrow-upstream-bad-"));
    try {
      for (const [args, message] of [
        [["--upstream-proxy", "ftp://proxy:21"], /--upstream-proxy "ftp:\/\/proxy:21" uses ftp; only http:\/\/ proxies are supported/],
        [["--upstream-proxy"], /--upstream-proxy needs a URL/],
      ] as const) {
        const r = spawnSync(process.execPath, [join(ROOT, "dist/cli.js"), "serve", "--port", "0", "--data", join(dir, "data"), ...args], {
          env: { ...process.env, BURROW_POOL: "0", BURROW_TOKEN: "x" },
          encoding: "utf8",
          timeout: 30_000,
        });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, message);
      }
      const env = spawnSync(process.execPath, [join(ROOT, "dist/cli.js"), "serve", "--port", "0", "--data", join(dir, "data")], {
        env: { ...process.env, BURROW_POOL: "0", BURROW_TOKEN: "x", HTTPS_PROXY: "http://proxy:3128/some/path" },
        encoding: "utf8",
        timeout: 30_000,
      });
      assert.equal(env.status, 1, env.stderr);
      assert.match(env.stderr, /HTTPS_PROXY "http:\/\/proxy:3128\/some\/path" has a path or query/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("upstream proxy: sandboxes' traffic", () => {
  let site: TestPki;
  let web: Server;
  let tlsWeb: Server;
  let proxy: Awaited<ReturnType<typeof startTestProxy>>;
  let envProxy: Awaited<ReturnType<typeof startTestProxy>>;
  let srv: TestServer;
  let envSrv: TestServer;
  const answer = (kind: string) => (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) =>
    res.end(`${kind} ${req.headers.host} ${req.url}${req.headers.authorization === `Bearer ${SECRET}` ? " with-token" : ""}`);

  before(async () => {
    site = makeTestPki({ ips: [PUBLIC] });
    web = createHttpServer(answer("plain"));
    tlsWeb = createHttpsServer({ key: site.key, cert: site.cert }, answer("tls"));
    await Promise.all([web, tlsWeb].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()))));
    const port = (s: Server) => (s.address() as AddressInfo).port;
    proxy = await startTestProxy(port(web), port(tlsWeb));
    envProxy = await startTestProxy(port(web), port(tlsWeb));
    [srv, envSrv] = await Promise.all([
      startTestServer({
        args: [
          "--upstream-proxy", `http://bot:p%40ss@127.0.0.1:${proxy.port}`, "--extra-ca-certs", site.caFile,
          "--egress-allow", "host.burrow.internal", "--config", join(ROOT, "test/fixtures/egress-config.ts"),
        ],
        env: { TEST_API_SECRET: SECRET, TEST_GIT_SECRET: "unused", TEST_S3_SECRET: "unused" },
      }),
      startTestServer({
        args: ["--extra-ca-certs", site.caFile],
        env: { HTTPS_PROXY: `http://127.0.0.1:${envProxy.port}`, HTTP_PROXY: `http://127.0.0.1:${envProxy.port}`, NO_PROXY: "" },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([srv?.cleanup(), envSrv?.cleanup()]);
    proxy?.close();
    envProxy?.close();
    web?.close();
    tlsWeb?.close();
    site?.cleanup();
  });

  const basic = `Basic ${Buffer.from("bot:p@ss").toString("base64")}`;

  it("HTTP and HTTPS leave through the upstream proxy, with basic auth, asking for the checked address; the audit and burrow logs say so", async () => {
    const id = name("upproxy");
    const sbx = srv.burrow.sandbox(id);
    const before = proxy.seen.length;
    const plain = await sbx.exec(`curl -sS --max-time 20 'http://${PUBLIC}/plain?x=1'`);
    assert.equal(plain.stdout, `plain ${PUBLIC} /plain?x=1`, plain.stderr);
    const secure = await sbx.exec(`curl -sS --max-time 20 https://${PUBLIC}/secure`); // trusted through --extra-ca-certs
    assert.equal(secure.stdout, `tls ${PUBLIC} /secure`, secure.stderr);
    assert.deepEqual(proxy.seen.slice(before), [
      { kind: "http", target: `http://${PUBLIC}:80/plain?x=1`, auth: basic, host: PUBLIC },
      { kind: "CONNECT", target: `${PUBLIC}:443`, auth: basic, host: `${PUBLIC}:443` },
    ]);
    const events = await waitForAudit(sbx, (e) => e.filter((x) => x.host === PUBLIC).length >= 2);
    const mine = events.filter((e) => e.host === PUBLIC);
    assert.deepEqual(mine.map((e) => [e.mode, e.decision, e.upstreamProxy]), [
      ["http", "allowed", `http://127.0.0.1:${proxy.port}`],
      ["tunnel", "allowed", `http://127.0.0.1:${proxy.port}`],
    ]);
    const text = JSON.stringify(events) + srv.log;
    for (const secret of ["p%40ss", "p@ss", basic.slice(6)]) assert.ok(!text.includes(secret), `the proxy's password (${secret}) is never logged`);
    const out = execFileSync(process.execPath, [join(ROOT, "dist/cli.js"), "logs", "--egress", id], { env: { ...process.env, BURROW_URL: srv.url, BURROW_TOKEN: srv.token }, encoding: "utf8" });
    assert.match(out, new RegExp(`CONNECT ${PUBLIC}:443 .* tunnel through http://127\\.0\\.0\\.1:${proxy.port} `));
  });

  it("a denied destination and a private address are refused before anything is dialled: the upstream proxy sees nothing", async () => {
    const sbx = srv.burrow.sandbox(name("updeny"));
    await sbx.setEgress({ deniedHosts: ["203.0.113.0/24"] });
    const before = proxy.seen.length;
    const http = await sbx.exec(`curl -s -D - -o /dev/null http://${PUBLIC}/`);
    assert.match(http.stdout, /^HTTP\/1.1 403/);
    assert.match(http.stdout, /x-burrow-reason: 203.0.113.7 is in deniedHosts/);
    const tls = await sbx.exec(`curl -sS https://${PUBLIC}/ 2>&1; true`);
    assert.match(tls.stdout, /403/);
    const priv = await sbx.exec(`curl -s -D - -o /dev/null http://10.9.8.7/`);
    assert.match(priv.stdout, /internal address \(10\.9\.8\.7\)/);
    assert.equal(proxy.seen.length, before);
    const events = await waitForAudit(sbx, (e) => e.length >= 3);
    assert.ok(events.every((e) => e.decision === "denied" && e.upstreamProxy === null));
  });

  it("loopback and the host alias are dialled directly", async () => {
    const sbx = srv.burrow.sandbox(name("updirect"));
    const before = proxy.seen.length;
    const port = (web.address() as AddressInfo).port;
    const r = await sbx.exec(`curl -sS http://host.burrow.internal:${port}/direct`);
    assert.equal(r.stdout, `plain host.burrow.internal:${port} /direct`, r.stderr);
    assert.equal(proxy.seen.length, before);
    const events = await waitForAudit(sbx, (e) => e.length >= 1);
    assert.equal(events[0]!.upstreamProxy, null);
  });

  it("a handler's ctx.fetch goes through the upstream proxy too (HTTPS verified against the extra CAs, and plain HTTP)", async () => {
    const sbx = srv.burrow.sandbox(name("uphandler"));
    await sbx.setEgress({ byHost: { [PUBLIC]: "api" } });
    const before = proxy.seen.length;
    const secure = await sbx.exec(`curl -sS --max-time 20 https://${PUBLIC}/via-handler`);
    assert.equal(secure.stdout, `tls ${PUBLIC} /via-handler with-token`, secure.stderr);
    const plain = await sbx.exec(`curl -sS --max-time 20 http://${PUBLIC}/plain-handler`);
    assert.equal(plain.stdout, `plain ${PUBLIC} /plain-handler with-token`, plain.stderr);
    assert.deepEqual(
      proxy.seen.slice(before).map((s) => [s.kind, s.target, s.auth]),
      [["CONNECT", `${PUBLIC}:443`, basic], ["http", `http://${PUBLIC}:80/plain-handler`, basic]],
    );
    const events = await waitForAudit(sbx, (e) => e.filter((x) => x.handler === "api").length >= 2);
    assert.deepEqual(
      events.filter((e) => e.handler === "api").map((e) => [e.mode, e.upstreamProxy]),
      [["intercept", `http://127.0.0.1:${proxy.port}`], ["http", `http://127.0.0.1:${proxy.port}`]],
    );
  });

  it("an upstream proxy's refusal reaches the sandbox as a 502 with its reason", async () => {
    const sbx = srv.burrow.sandbox(name("uprefused"));
    const r = await sbx.exec(`curl -s -D - -o /dev/null -p -x http://127.0.0.1:3128 https://${PUBLIC}:8443/; true`);
    assert.match(r.stdout, /^HTTP\/1.1 502/);
    assert.match(r.stdout, new RegExp(`x-burrow-reason: the upstream proxy http://127.0.0.1:${proxy.port} refused CONNECT ${PUBLIC}:8443: HTTP/1.1 403 Forbidden`));
  });

  it("without the flag, HTTPS_PROXY and HTTP_PROXY of the server's environment are used (no credentials then)", async () => {
    const sbx = envSrv.burrow.sandbox(name("upenv"));
    const plain = await sbx.exec(`curl -sS --max-time 20 http://${PUBLIC}/env`);
    assert.equal(plain.stdout, `plain ${PUBLIC} /env`, plain.stderr);
    const secure = await sbx.exec(`curl -sS --max-time 20 https://${PUBLIC}/env-tls`);
    assert.equal(secure.stdout, `tls ${PUBLIC} /env-tls`, secure.stderr);
    assert.deepEqual(envProxy.seen.map((s) => [s.kind, s.target, s.auth]), [
      ["http", `http://${PUBLIC}:80/env`, undefined],
      ["CONNECT", `${PUBLIC}:443`, undefined],
    ]);
  });
});

type Audit = Awaited<ReturnType<ReturnType<TestServer["burrow"]["sandbox"]>["egressAudit"]>>;

/** The sandbox's audit once `ready` holds (tunnels are recorded when they close); fails after 10 s. */
async function waitForAudit(sbx: ReturnType<TestServer["burrow"]["sandbox"]>, ready: (e: Audit) => boolean): Promise<Audit> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = await sbx.egressAudit();
    if (ready(events)) return events;
    if (Date.now() > deadline) throw new Error(`audit not as expected after 10 s: ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
