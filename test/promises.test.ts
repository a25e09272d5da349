import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { statSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildRouter } from "../src/server/app.js";
import type { SandboxManager } from "../src/sandboxes/index.js";
import type { PreviewProxy } from "../src/server/preview.js";
import { Burrow, type BurrowApiError } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/*
 * Promises the README makes that no other test checks: the token on every
 * route and the token file, sandbox-wide variables across sleep, seccomp
 * refusals, backup listing and deletion, and configuration flags.
 */

describe("what the README promises", () => {
  let srv: TestServer;
  before(async () => {
    // No BURROW_TOKEN: the server makes its own token file, as `npm start` does.
    srv = await startTestServer({ env: { BURROW_TOKEN: "" }, args: ["--preview-host", "preview.example.test", "--pool", "default=1"] });
  });
  after(() => srv.cleanup());

  const token = () => readFileSync(join(srv.dataDir, "token"), "utf8").trim();
  const burrow = () => new Burrow({ url: srv.url, token: token() });

  it("keeps the token in a root-only file, and every route but /healthz refuses a missing or wrong token", async () => {
    assert.equal(statSync(join(srv.dataDir, "token")).mode & 0o777, 0o600);
    assert.match(token(), /^brw_/);
    const routes = buildRouter({ sandboxes: {} as SandboxManager, egress: {} as never, snapshots: {} as never, transfers: {} as never, backups: {} as never, preview: {} as PreviewProxy, serverPort: () => 0 }).list();
    assert.ok(routes.length > 30);
    for (const r of routes) {
      const [method, pattern] = r.split(" ") as [string, string];
      const path = pattern.replace(/:sid\b/g, "snap-0123456789ab").replace(/:(\w+)/g, "x1");
      for (const auth of [undefined, "Bearer wrong", `Bearer ${token()}x`, `Basic ${token()}`]) {
        const res = await fetch(srv.url + path, { method, headers: auth ? { authorization: auth } : {}, body: ["GET", "HEAD"].includes(method) ? undefined : "{}" });
        assert.equal(res.status, 401, `${r} with ${auth ?? "no token"} answered ${res.status}`);
        if (method !== "HEAD") assert.equal((await res.json()).code, "UNAUTHORIZED", r);
      }
    }
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });

  it("keeps sandbox-wide variables across sleep, and null unsets them for good", async () => {
    const sbx = burrow().sandbox(name("env"));
    await sbx.setEnvVars({ KEPT: "yes", GONE: "soon" });
    await sbx.setEnvVars({ GONE: null });
    await sbx.sleep();
    assert.equal((await sbx.exec("echo $KEPT-${GONE:-unset}")).stdout, "yes-unset\n");
  });

  // ptrace stays allowed inside (strace and gdb work on the sandbox's own processes; other sandboxes' are not even visible).
  it("refuses reading other processes' memory, userfaultfd, mknod, clock and hostname changes inside", async () => {
    const sbx = burrow().sandbox(name("seccomp"));
    const sys = await sbx.exec([
      "python3", "-c",
      "import ctypes\nlibc=ctypes.CDLL(None,use_errno=True)\n" +
        "for n,nr,args in (('process_vm_readv',310,(1,0,0,0)),('userfaultfd',323,(0,0,0,0)),('settimeofday',164,(0,0,0,0)),('clock_settime',227,(0,0,0,0))):\n" +
        " r=libc.syscall(nr,*args)\n print(n,r,ctypes.get_errno())",
    ]);
    const lines = sys.stdout.trim().split("\n");
    assert.equal(lines.length, 4, sys.stderr);
    for (const line of lines) {
      const [call, ret, errno] = line.split(" ");
      assert.equal(ret, "-1", `${call} was refused`);
      assert.ok(errno === "1" || errno === "38", `${call}: EPERM or ENOSYS, got errno ${errno}`);
    }
    assert.notEqual((await sbx.exec("mknod /tmp/dev c 1 3")).exitCode, 0, "mknod is refused");
    assert.notEqual((await sbx.exec("date -s '2001-01-01'")).exitCode, 0, "the clock cannot be set");
    assert.notEqual((await sbx.exec("hostname other-name")).exitCode, 0, "the hostname cannot be changed");
    assert.equal((await sbx.exec("hostname")).stdout.trim(), sbx.id);
  });

  it("lists and deletes backups", async () => {
    const sbx = burrow().sandbox(name("bk"));
    await sbx.exec("mkdir -p /data && echo 1 > /data/f");
    const b = await sbx.createBackup({ dir: "/data", name: "nightly" });
    const listed = await burrow().listBackups();
    assert.ok(listed.some((x) => x.id === b.id && x.name === "nightly" && x.dir === "/data"));
    await burrow().deleteBackup(b.id);
    assert.ok(!(await burrow().listBackups()).some((x) => x.id === b.id));
    await assert.rejects(sbx.restoreBackup(b), (e: BurrowApiError) => e.code === "BACKUP_NOT_FOUND" && e.status === 404);
  });

  it("--preview-host names preview URLs, and --pool image=N keeps that many ready", async () => {
    const sbx = burrow().sandbox(name("prev"));
    const { url } = await sbx.exposePort(8080);
    assert.match(url, /^http:\/\/8080-.+\.preview\.example\.test:\d+\/$/);
    const deadline = Date.now() + 60_000;
    let pooled = 0;
    while (Date.now() < deadline && pooled < 1) {
      pooled = (await (await fetch(`${srv.url}/v1/status`, { headers: { authorization: `Bearer ${token()}` } })).json()).pooled;
      if (pooled < 1) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(pooled, 1);
  });
});
