import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { networkInterfaces } from "node:os";
import { createHash, randomBytes } from "node:crypto";
import type { Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const BIG = randomBytes(20_000_000);

/** A host address that is not loopback, when the machine has one. */
const hostAddress = () =>
  Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;

describe("isolation: attempts to break out must fail", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  let web: Server;
  let webPort: number;
  let allowedWeb: Server;
  let allowedPort: number;
  const secretFile = `/tmp/burrow-host-secret-${process.pid}`;
  let hostProc: ChildProcess;

  before(async () => {
    const listen = (s: Server) => new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as { port: number }).port)));
    web = createServer((_q, res) => res.end("host-only service"));
    webPort = await listen(web);
    allowedWeb = createServer((req, res) => (req.url === "/big" ? res.end(BIG) : res.end(`allowed ${req.method} ${req.url}`)));
    allowedPort = await listen(allowedWeb);
    srv = await startTestServer({ env: { BURROW_EGRESS_ALLOW: `127.0.0.1:${allowedPort}` } });
    sbx = srv.burrow.sandbox(name("iso"));
    writeFileSync(secretFile, "host secret");
    hostProc = spawn("sleep", ["4242.4242"], { stdio: "ignore" });
  });
  after(async () => {
    hostProc.kill();
    rmSync(secretFile, { force: true });
    web.close();
    allowedWeb.close();
    await srv.cleanup();
  });

  it("maps root inside to an unprivileged uid range outside", async () => {
    const r = await sbx.exec("id -u; cat /proc/self/uid_map");
    // Its own range from the pool (--uid-ranges, by default 65,536 ids each from 2^30), no other sandbox's.
    const m = /^0\n\s+0\s+(\d+)\s+65536\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const base = Number(m[1]);
    assert.ok(base >= 2 ** 30 && (base - 2 ** 30) % 65536 === 0, `root inside is host uid ${base}`);
    // The runtime itself runs as that unprivileged uid on the host.
    const ps = await sbx.exec("cat /proc/1/status | grep ^Uid");
    assert.match(ps.stdout, /Uid:\s+0/);
  });

  it("cannot read a host-only file, by command or through the files API", async () => {
    const r = await sbx.exec(`cat ${secretFile}`);
    assert.notEqual(r.exitCode, 0);
    assert.doesNotMatch((await sbx.exec("ls -a /tmp")).stdout, /burrow-host-secret/);
    await assert.rejects(sbx.readFile(secretFile));
    // /etc/hostname and /etc/os-release are the image's, not the host's.
    assert.equal((await sbx.exec("hostname")).stdout.trim(), sbx.id);
  });

  it("cannot see host processes", async () => {
    const r = await sbx.exec("ps -eo args");
    assert.doesNotMatch(r.stdout, /4242\.4242/);
    assert.doesNotMatch(r.stdout, /cli\.js serve/);
    const count = (await sbx.exec("ls /proc | grep -c '^[0-9]'")).stdout.trim();
    assert.ok(Number(count) < 15, `only the sandbox's own processes are visible (saw ${count})`);
  });

  it("cannot reach the network without the proxy", async () => {
    // Without the proxy, the host's loopback service is another machine's loopback: nothing listens.
    const direct = await sbx.exec(`curl -sS --noproxy '*' -m 3 http://127.0.0.1:${webPort}/`);
    assert.notEqual(direct.exitCode, 0);
    const ifaces = await sbx.exec("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '");
    assert.equal(ifaces.stdout.trim(), "lo", "only loopback exists inside");
    const addr = hostAddress();
    if (addr) {
      const py = await sbx.exec(["python3", "-c", `import socket\ntry:\n socket.create_connection(("${addr}", 22), timeout=2); print("connected")\nexcept OSError as e: print("refused", e.errno)`]);
      assert.match(py.stdout, /^refused/);
    }
    const dns = await sbx.exec(["python3", "-c", "import socket\ntry:\n print(socket.gethostbyname('deb.debian.org'))\nexcept OSError as e: print('no dns')"]);
    assert.equal(dns.stdout.trim(), "no dns");
  });

  it("cannot reach private, loopback or metadata addresses through the proxy", async () => {
    for (const target of [`http://127.0.0.1:${webPort}/`, "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://[::1]:80/"]) {
      const r = await sbx.exec(`curl -sS -m 5 --noproxy '' -x http://127.0.0.1:3128 -o /dev/null -w '%{http_code}' -D - ${target}`);
      assert.match(r.stdout, /403/, `${target} refused: ${r.stdout} ${r.stderr}`);
      assert.match(r.stdout, /x-burrow-egress: denied/i);
    }
    const tls = await sbx.exec(`curl -sS -m 5 --noproxy '' -x http://127.0.0.1:3128 https://127.0.0.1:${webPort}/`);
    assert.notEqual(tls.exitCode, 0);
    assert.match(tls.stderr, /403/);
  });

  it("reaches an allowlisted host through the proxy, and only that port", async () => {
    const ok = await sbx.exec(`curl -sS -m 5 --noproxy '' -x http://127.0.0.1:3128 http://127.0.0.1:${allowedPort}/hello?x=1`);
    assert.equal(ok.stdout, "allowed GET /hello?x=1");
    const py = await sbx.exec(["python3", "-c", `import urllib.request\nprint(urllib.request.urlopen("http://127.0.0.1:${allowedPort}/py").read().decode())`], { env: { NO_PROXY: "", no_proxy: "" } });
    assert.equal(py.stdout.trim(), "allowed GET /py");
    const other = await sbx.exec(`curl -sS -m 5 --noproxy '' -x http://127.0.0.1:3128 -o /dev/null -w '%{http_code}' http://127.0.0.1:${webPort}/`);
    assert.equal(other.stdout, "403");
    // Large bodies arrive whole through the proxy, plain and tunnelled (CONNECT).
    const want = createHash("sha256").update(BIG).digest("hex");
    for (const flags of ["", "--proxytunnel"]) {
      const big = await sbx.exec(`curl -sS -m 30 --noproxy '' -x http://127.0.0.1:3128 ${flags} http://127.0.0.1:${allowedPort}/big | sha256sum`);
      assert.equal(big.stdout.split(" ")[0], want, `complete with ${flags || "plain proxying"}`);
    }
  });

  it("keeps `..` and symlinks inside the sandbox in the files API", async () => {
    const escape = `/tmp/burrow-escape-${process.pid}`;
    await sbx.writeFile(`/workspace/../../../..${escape}`, "inside");
    assert.equal(existsSync(escape), false, "nothing written on the host");
    assert.equal((await sbx.readFile(escape)).content, "inside", "it landed in the sandbox's /tmp");
    // A symlink to a host path resolves in the sandbox's root.
    await sbx.exec(`ln -sf ${srv.dataDir}/token /workspace/token-link; ln -sf ${secretFile} /workspace/secret-link; ln -sfn / /workspace/root-link`);
    await assert.rejects(sbx.readFile("/workspace/token-link"));
    await assert.rejects(sbx.readFile("/workspace/secret-link"));
    await sbx.writeFile("/workspace/root-link/tmp/through-link.txt", "still inside");
    assert.equal(existsSync("/tmp/through-link.txt"), false);
    assert.equal((await sbx.exec("cat /tmp/through-link.txt")).stdout, "still inside");
    await sbx.exec(`ln -sfn /tmp /workspace/tmp-link`);
    await sbx.writeFile(`/workspace/tmp-link/burrow-escape2-${process.pid}`, "x");
    assert.equal(existsSync(`/tmp/burrow-escape2-${process.pid}`), false);
  });

  it("cannot read the server's token or data directory", async () => {
    const token = srv.token;
    // On the host too, only root reads the registry (sandboxes' env) and the token file when there is one.
    for (const f of ["token", "burrow.db"])
      if (existsSync(`${srv.dataDir}/${f}`)) assert.equal(statSync(`${srv.dataDir}/${f}`).mode & 0o077, 0, `${f} is readable by root alone`);
    assert.equal((await sbx.exec(`ls ${srv.dataDir}`)).exitCode, 2);
    const env = await sbx.exec("cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'");
    assert.doesNotMatch(env.stdout, new RegExp(token));
    assert.doesNotMatch(env.stdout, /BURROW_RUNTIME_CONFIG|BURROW_TOKEN/);
    const grep = await sbx.exec(["sh", "-c", `grep -rsl --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr "$T" / | head -5`], {
      env: { T: token },
      timeoutMs: 240_000,
    });
    // The only hit allowed is grep's own command line, which is in /proc (excluded).
    assert.equal(grep.stdout, "", `token found in: ${grep.stdout}`);
  });

  it("a generated token file is root's alone and out of every sandbox's reach", async () => {
    // Without BURROW_TOKEN the server makes <data>/token itself (the case the env-token server above never tries).
    const own = await startTestServer({ env: { BURROW_TOKEN: "" } });
    try {
      const file = `${own.dataDir}/token`;
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(file).uid, 0);
      const token = readFileSync(file, "utf8").trim();
      assert.match(token, /^brw_/);
      const { Burrow } = await import("../src/client/index.js");
      const inside = new Burrow({ url: own.url, token }).sandbox(name("tok"));
      assert.notEqual((await inside.exec(`cat ${file}`)).exitCode, 0);
      assert.notEqual((await inside.exec(`ls ${own.dataDir}`)).exitCode, 0);
      const env = await inside.exec("cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'");
      assert.doesNotMatch(env.stdout + env.stderr, new RegExp(token));
      assert.equal((await own.api("GET", "/v1/sandboxes")).status, 401, "the helper's own token is not this server's");
    } finally {
      await own.cleanup();
    }
  });

  it("cannot write Burrow's own files or load kernel features (seccomp, capabilities)", async () => {
    assert.notEqual((await sbx.exec("echo x > /.burrow/runtime/runtime.js")).exitCode, 0);
    assert.notEqual((await sbx.exec("echo x > /.burrow/node/bin/node")).exitCode, 0);
    assert.notEqual((await sbx.exec("mount -t tmpfs none /mnt")).exitCode, 0);
    assert.notEqual((await sbx.exec("unshare -U true")).exitCode, 0);
    assert.notEqual((await sbx.exec("unshare -m true")).exitCode, 0);
    const sys = await sbx.exec([
      "python3", "-c",
      "import ctypes,os\nlibc=ctypes.CDLL(None,use_errno=True)\n" +
        "for n,nr in (('keyctl',250),('bpf',321),('init_module',175),('perf_event_open',298),('kexec_load',246),('open_by_handle_at',304)):\n" +
        " r=libc.syscall(nr,0,1,0,0,0)\n print(n,r,ctypes.get_errno())",
    ]);
    for (const line of sys.stdout.trim().split("\n")) {
      const [call, ret, errno] = line.split(" ");
      assert.equal(ret, "-1", `${call} refused`);
      assert.equal(errno, "1", `${call}: EPERM`);
    }
    assert.equal((await sbx.exec("cat /proc/kcore | head -c 1 | wc -c")).stdout.trim(), "0");
    assert.notEqual((await sbx.exec("echo 1 > /proc/sys/kernel/sysrq")).exitCode, 0);
    assert.notEqual((await sbx.exec("ping -c1 127.0.0.1 2>&1 || python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)'")).exitCode, 0);
  });

  it("contains a fork bomb within the pids limit; the sandbox still answers, and killAllProcesses clears the leftovers", async () => {
    const id = name("bomb");
    const bomb = srv.burrow.sandbox(id, { limits: { pids: 128 } });
    const bystander = srv.burrow.sandbox(name("bystander"));
    await bystander.exec("true");
    await bomb.exec("true");
    // User commands run in a child pids cgroup 32 below the sandbox's 128 (a quarter of a small limit): the runtime keeps the rest.
    const cg = `/sys/fs/cgroup/pids/burrow-${createHash("sha256").update(srv.dataDir).digest("hex").slice(0, 8)}/${id}`;
    assert.equal(readFileSync(`${cg}/pids.max`, "utf8").trim(), "128");
    assert.equal(readFileSync(`${cg}/user/pids.max`, "utf8").trim(), "96");
    // A bomb that backgrounds itself: the exec returns at once, the leftovers take every pid users may have.
    // Each copy waits for its children, so what holds the pids stays alive (not exited and unreaped) until killed.
    const r = await bomb.exec("(bomb() { bomb & bomb & wait; }; bomb) >/dev/null 2>&1 &", { timeoutMs: 10_000 });
    assert.equal(r.exitCode, 0);
    const full = Date.now() + 10_000;
    while (Number(readFileSync(`${cg}/user/pids.current`, "utf8")) < 96) {
      assert.ok(Date.now() < full, "the bomb did not fill the user pids");
      await new Promise((res) => setTimeout(res, 20));
    }
    // Burrow still works in the full sandbox: a command starts (a builtin needs no fork) and files answer.
    assert.equal((await bomb.exec("echo still answering")).stdout, "still answering\n");
    await bomb.writeFile("/workspace/during.txt", "written while full");
    assert.equal((await bystander.exec("echo fine")).stdout, "fine\n");
    assert.ok((await fetch(`${srv.url}/healthz`)).ok);
    // The way out reaches every process, though Burrow started none of them.
    const killed = await bomb.killAllProcesses();
    assert.ok(killed >= 90, `killed ${killed}`);
    assert.ok(Number(readFileSync(`${cg}/user/pids.current`, "utf8")) < 10, "the leftovers are gone");
    const after = await bomb.exec("for i in 1 2 3 4 5; do /bin/true; done; cat /workspace/during.txt");
    assert.equal(after.stdout, "written while full");
  });

  it("contains memory use within the memory limit", async () => {
    const hog = srv.burrow.sandbox(name("hog"), { limits: { memoryMB: 128 } });
    const r = await hog.exec(["python3", "-c", "b = bytearray(512 * 1024 * 1024); print('allocated')"]);
    assert.notEqual(r.exitCode, 0);
    assert.doesNotMatch(r.stdout, /allocated/);
    assert.equal((await hog.exec("echo still here")).stdout, "still here\n", "the runtime survived its child's OOM");
    assert.ok((await fetch(`${srv.url}/healthz`)).ok);
  });
});
