import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import S3rver from "s3rver";
import { freePort, name, startTestServer, type TestServer } from "./helpers/server.js";

const ROOT = join(import.meta.dirname, "..");

/** A raw exchange with the proxy from inside the sandbox (bash's /dev/tcp), printing the status line. */
const raw = (request: string) =>
  `exec 3<>/dev/tcp/127.0.0.1/3128; printf '${request}' >&3; timeout 5 head -1 <&3 | tr -d '\\r'`;

describe("egress policy, audit and limits", () => {
  let srv: TestServer;
  let web: Server;
  let webPort: number;
  let hold: TcpServer;
  let holdPort: number;
  const held: Socket[] = [];
  let s3: S3rver;
  let s3Port: number;
  const s3Dir = mkdtempSync(join(tmpdir(), "burrow-s3-"));

  before(async () => {
    const big = Buffer.alloc(512 * 1024, 7);
    web = createHttpServer((req, res) => {
      if (req.url === "/big") return res.end(big);
      res.end(`hello ${req.url}`);
    });
    webPort = await new Promise<number>((r) => web.listen(0, "127.0.0.1", () => r((web.address() as { port: number }).port)));
    hold = createTcpServer((s) => held.push(s.on("error", () => {})));
    holdPort = await new Promise<number>((r) => hold.listen(0, "127.0.0.1", () => r((hold.address() as { port: number }).port)));
    s3Port = await freePort();
    s3 = new S3rver({ port: s3Port, address: "127.0.0.1", directory: s3Dir, silent: true, configureBuckets: [{ name: "data", configs: [] }] });
    await s3.run();
    srv = await startTestServer({
      args: ["--config", join(import.meta.dirname, "fixtures/egress-config.ts")],
      env: { TEST_API_SECRET: "unused", TEST_GIT_SECRET: "unused", TEST_S3_SECRET: "S3RVER" },
    });
  });
  after(async () => {
    await srv.cleanup();
    web.close();
    for (const s of held) s.destroy();
    hold.close();
    await s3.close();
    rmSync(s3Dir, { recursive: true, force: true });
  });

  const webHost = () => `host.burrow.internal:${webPort}`;

  it("deny beats allow; wildcards and CIDRs deny by name and by address; the answer says why", async () => {
    const sbx = srv.burrow.sandbox(name("deny"));
    await sbx.setEgress({ allowedHosts: [webHost()], deniedHosts: ["host.burrow.internal", "*.blocked.example", "203.0.113.0/24"] });
    const r = await sbx.exec(`curl -s -D - http://${webHost()}/x`);
    assert.match(r.stdout, /^HTTP\/1.1 403/);
    assert.match(r.stdout, /x-burrow-reason: host.burrow.internal is in deniedHosts/);
    assert.equal((await sbx.exec(raw("CONNECT api.blocked.example:443 HTTP/1.1\\r\\n\\r\\n"))).stdout, "HTTP/1.1 403 Forbidden\n");
    assert.equal((await sbx.exec(raw("CONNECT 203.0.113.9:443 HTTP/1.1\\r\\n\\r\\n"))).stdout, "HTTP/1.1 403 Forbidden\n");
    await sbx.updateEgress({ deniedHosts: [] }); // PATCH: the allow rule stays
    assert.equal((await sbx.exec(`curl -s http://${webHost()}/ok`)).stdout, "hello /ok");
  });

  it("internet: false refuses everything not listed; a public name resolving to a private address is refused", async () => {
    const sbx = srv.burrow.sandbox(name("offline"));
    await sbx.setEgress({ internet: false, allowedHosts: [webHost()] });
    const r = await sbx.exec(`curl -s -D - -x http://127.0.0.1:3128 https://198.51.100.7/ -o /dev/null; true`);
    assert.match(r.stdout, /403/);
    assert.match(r.stdout, /internet access is off/);
    assert.equal((await sbx.exec(`curl -s http://${webHost()}/listed`)).stdout, "hello /listed");
    const open = srv.burrow.sandbox(name("open"));
    const local = await open.exec(`curl -s -D - --noproxy '' -x http://127.0.0.1:3128 http://localhost:${webPort}/`);
    assert.match(local.stdout, /resolves to an internal address \(127\.0\.0\.1\)/);
  });

  it("settings survive a restart, and denials are audited and shown by burrow logs --egress", async () => {
    const id = name("kept");
    const sbx = srv.burrow.sandbox(id);
    await sbx.setEgress({ allowedHosts: [webHost()], deniedHosts: ["*.nope.example"], maxConnections: 7 });
    await sbx.exec("curl -s http://x.nope.example/secret-path >/dev/null");
    await srv.stop();
    await srv.restart();
    const info = await sbx.getEgress();
    assert.deepEqual(info.deniedHosts, ["*.nope.example"]);
    assert.equal(info.maxConnections, 7);
    assert.equal((await sbx.exec(`curl -s http://${webHost()}/after`)).stdout, "hello /after");
    const events = await sbx.egressAudit();
    const denied = events.find((e) => e.decision === "denied");
    assert.equal(denied?.host, "x.nope.example");
    assert.equal(denied?.path, "/secret-path");
    assert.match(denied!.reason!, /deniedHosts/);
    const ok = events.find((e) => e.decision === "allowed" && e.path === "/after");
    assert.equal(ok?.status, 200);
    assert.ok(ok!.bytesIn > 0);
    const out = execFileSync(process.execPath, [join(ROOT, "dist/cli.js"), "logs", "--egress", id], { env: { ...process.env, BURROW_URL: srv.url, BURROW_TOKEN: srv.token }, encoding: "utf8" });
    assert.match(out, /GET x\.nope\.example:80\/secret-path\s+DENIED x\.nope\.example is in deniedHosts/);
    assert.match(out, /GET host\.burrow\.internal:\d+\/after\s+200 http/);
  });

  it("malformed CONNECT lines, huge headers and slowloris connections get bounded answers while others are served", async () => {
    const sbx = srv.burrow.sandbox(name("abuse"));
    await sbx.setEgress({ allowedHosts: [webHost()] });
    assert.equal((await sbx.exec(raw("CONNECT nonsense HTTP/1.1\\r\\n\\r\\n"))).stdout, "HTTP/1.1 400 Bad Request\n");
    assert.equal((await sbx.exec(raw("CONNECT host:0 HTTP/1.1\\r\\n\\r\\n"))).stdout, "HTTP/1.1 400 Bad Request\n");
    assert.equal((await sbx.exec(raw("GARBAGE\\r\\n\\r\\n"))).stdout, "HTTP/1.1 400 Bad Request\n");
    const huge = await sbx.exec(`curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 40000 /dev/zero | tr '\\0' a)" http://${webHost()}/`);
    assert.equal(huge.stdout, "431");
    // 40 connections that never finish their headers; a normal request still goes through at once.
    await sbx.exec(`for i in $(seq 40); do (exec 3<>/dev/tcp/127.0.0.1/3128; printf 'GET http://x/ HTTP/1.1\\r\\nX-Slow: ' >&3; sleep 30) & done; sleep 0.3`);
    const started = Date.now();
    assert.equal((await sbx.exec(`curl -s http://${webHost()}/still`)).stdout, "hello /still");
    assert.ok(Date.now() - started < 2000);
    await sbx.exec("pkill -f 'sleep 30' || true");
  });

  it("a sandbox at its connection limit waits, then is refused; other sandboxes are not held up", async () => {
    const sbx = srv.burrow.sandbox(name("limited"));
    const holdHost = `host.burrow.internal:${holdPort}`;
    await sbx.setEgress({ allowedHosts: [holdHost, webHost()], maxConnections: 2 });
    await sbx.exec(`for i in 1 2; do (exec 3<>/dev/tcp/127.0.0.1/3128; printf 'CONNECT ${holdHost} HTTP/1.1\\r\\n\\r\\n' >&3; sleep 20) & done; sleep 0.5`);
    const other = srv.burrow.sandbox(name("neighbour"));
    await other.setEgress({ allowedHosts: [webHost()] });
    const t0 = Date.now();
    assert.equal((await other.exec(`curl -s http://${webHost()}/free`)).stdout, "hello /free");
    assert.ok(Date.now() - t0 < 2000);
    const third = await sbx.exec(raw(`CONNECT ${holdHost} HTTP/1.1\\r\\n\\r\\n`).replace("timeout 5", "timeout 9"));
    assert.equal(third.stdout, "HTTP/1.1 429 Too Many Requests\n");
    await sbx.exec("pkill -f 'sleep 20' || true");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await sbx.exec(`curl -s http://${webHost()}/again`)).stdout, "hello /again");
  });

  it("an open outbound connection keeps its sandbox awake", async () => {
    const sbx = srv.burrow.sandbox(name("busy"), { sleepAfter: 1 });
    const holdHost = `host.burrow.internal:${holdPort}`;
    await sbx.setEgress({ allowedHosts: [holdHost] });
    await sbx.startProcess(`bash -c "exec 3<>/dev/tcp/127.0.0.1/3128; printf 'CONNECT ${holdHost} HTTP/1.1\\r\\n\\r\\n' >&3; sleep 60"`);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await srv.api("GET", `/v1/sandboxes/${sbx.id}`).then((r) => r.json())).state, "running");
  });

  it("bandwidth is capped per sandbox without slowing the others", async () => {
    const slow = srv.burrow.sandbox(name("slow"));
    const fast = srv.burrow.sandbox(name("fast"));
    await slow.setEgress({ allowedHosts: [webHost()], bandwidthKBps: 200 });
    await fast.setEgress({ allowedHosts: [webHost()] });
    const [s, f] = await Promise.all([
      slow.exec(`curl -s -o /dev/null -w '%{size_download} %{time_total}' http://${webHost()}/big`),
      fast.exec(`curl -s -o /dev/null -w '%{size_download} %{time_total}' http://${webHost()}/big`),
    ]);
    const [sSize, sTime] = s.stdout.split(" ").map(Number);
    const [fSize, fTime] = f.stdout.split(" ").map(Number);
    assert.equal(sSize, 512 * 1024);
    assert.equal(fSize, 512 * 1024);
    assert.ok(sTime! >= 2, `512 KiB at 200 KiB/s takes over 2 s (took ${sTime})`);
    assert.ok(fTime! < 1, `the uncapped sandbox is not slowed (took ${fTime})`);
  });

  it("re-signs S3 requests: code inside uses dummy keys, the store sees real ones", async () => {
    // Through the proxy, 127.0.0.1 is the host's loopback (allowed only because it is listed); s3rver wants path-style requests to an address.
    const s3Host = `127.0.0.1:${s3Port}`;
    const via = `--noproxy '' -x http://127.0.0.1:3128`;
    const sbx = srv.burrow.sandbox(name("s3"));
    await sbx.setEgress({ allowedHosts: [s3Host], byHost: { [s3Host]: "s3" } });
    const sign = `${via} --aws-sigv4 aws:amz:us-east-1:s3 -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --user DUMMYKEY:dummysecret`;
    const put = await sbx.exec(`echo 'stored through the proxy' > /tmp/o && curl -s -o /dev/null -w '%{http_code}' ${sign} -T /tmp/o http://${s3Host}/data/obj.txt`);
    assert.equal(put.stdout, "200");
    assert.equal((await sbx.exec(`curl -s ${sign} http://${s3Host}/data/obj.txt`)).stdout, "stored through the proxy\n");
    const bare = srv.burrow.sandbox(name("s3-bare"));
    await bare.setEgress({ allowedHosts: [s3Host] });
    const refused = await bare.exec(`curl -s -o /dev/null -w '%{http_code}' ${sign} http://${s3Host}/data/obj.txt`);
    assert.equal(refused.stdout, "403", "without the handler the dummy keys are refused");
  });
});
