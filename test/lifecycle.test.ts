import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import type { BurrowApiError } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";
import { cgroupsOf } from "./helpers/leaks.js";
import { readdirSync } from "node:fs";

const runcList = (dataDir: string) =>
  execFileSync("runc", ["--root", `${dataDir}/runc`, "list", "-q"], { encoding: "utf8" }).split("\n").filter(Boolean);
const mountsUnder = (dir: string) => execFileSync("sh", ["-c", `grep -c ' ${dir}/' /proc/self/mountinfo || true`], { encoding: "utf8" }).trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("lifecycle", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.cleanup());

  it("PUT creates with options and answers 201, then 200 for an existing name", async () => {
    const id = name("put");
    const r = await srv.api("PUT", `/v1/sandboxes/${id}`, { sleepAfter: "5m", limits: { memoryMB: 256, pids: 128 }, labels: { team: "a" }, env: { MODE: "test" } });
    assert.equal(r.status, 201);
    const info = await r.json();
    assert.equal(info.state, "running");
    assert.equal(info.image, "default");
    assert.equal(info.sleepAfter, 300);
    assert.deepEqual(info.limits, { memoryMB: 256, cpus: 1, pids: 128 });
    assert.deepEqual(info.labels, { team: "a" });
    assert.equal((await srv.burrow.sandbox(id).exec("echo $MODE")).stdout, "test\n");
    const again = await srv.api("PUT", `/v1/sandboxes/${id}`, {});
    assert.equal(again.status, 200);
    assert.equal((await again.json()).created, false);
  });

  it("creates on first use; reads of an unknown name do not create it", async () => {
    const id = name("implicit");
    const g = await srv.api("GET", `/v1/sandboxes/${id}`);
    assert.equal(g.status, 404);
    assert.equal((await g.json()).code, "SANDBOX_NOT_FOUND");
    assert.equal((await srv.api("DELETE", `/v1/sandboxes/${id}`)).status, 404);
    assert.equal((await srv.burrow.sandbox(id).exec("true")).exitCode, 0);
    const info = await srv.burrow.get(id);
    assert.equal(info.state, "running");
    assert.ok((await srv.burrow.list()).some((s) => s.id === id));
  });

  it("sleeps on request and wakes on the next call with every file intact, processes gone", async () => {
    const id = name("sleepy");
    const sbx = srv.burrow.sandbox(id);
    await sbx.writeFile("/workspace/keep.txt", "kept");
    await sbx.exec("apt-get --version > /dev/null; echo installed > /usr/local/marker; nohup sleep 1000 > /dev/null 2>&1 &");
    const slept = await sbx.sleep();
    assert.equal(slept.state, "sleeping");
    assert.equal(runcList(srv.dataDir).includes(id), false);
    const r = await sbx.exec("cat /workspace/keep.txt /usr/local/marker; pgrep -c sleep || true");
    assert.equal(r.stdout, "keptinstalled\n0\n");
    assert.equal((await srv.burrow.get(id)).state, "running");
  });

  it("destroys: processes, disk and name are gone, and the name starts fresh", async () => {
    const id = name("doomed");
    const sbx = srv.burrow.sandbox(id);
    await sbx.writeFile("/workspace/old.txt", "old");
    await sbx.destroy();
    assert.equal((await srv.api("GET", `/v1/sandboxes/${id}`)).status, 404);
    assert.equal(runcList(srv.dataDir).includes(id), false);
    assert.equal(await sbx.exists("/workspace/old.txt"), false);
  });

  it("never starts two containers for concurrent requests to one new name", async () => {
    const id = name("race");
    const rs = await Promise.all(Array.from({ length: 12 }, () => srv.burrow.sandbox(id).exec("hostname")));
    rs.forEach((r) => assert.equal(r.stdout, `${id}\n`));
    assert.equal(runcList(srv.dataDir).filter((c) => c === id).length, 1);
  });

  it("creates many sandboxes in a burst and destroys them without orphans", async () => {
    const ids = Array.from({ length: 8 }, () => name("burst"));
    await Promise.all(ids.map((id) => srv.burrow.sandbox(id).exec("true")));
    const running = runcList(srv.dataDir);
    for (const id of ids) assert.ok(running.includes(id));
    await Promise.all(ids.map((id) => srv.burrow.sandbox(id).destroy()));
    const after = runcList(srv.dataDir);
    for (const id of ids) assert.ok(!after.includes(id));
  });

  it("goes to sleep after sleepAfter without activity; keepAlive never does", async () => {
    const idle = name("idle");
    const kept = name("kept");
    await srv.burrow.sandbox(idle, { sleepAfter: 1 }).exec("true");
    await srv.burrow.sandbox(kept, { sleepAfter: 1, keepAlive: true }).exec("true");
    // The sweeper runs every 200 ms here: the idle one sleeps soon after its second is up.
    const deadline = Date.now() + 5000;
    while ((await srv.burrow.get(idle)).state !== "sleeping") {
      assert.ok(Date.now() < deadline, "the idle sandbox did not go to sleep within 5 s");
      await sleep(50);
    }
    assert.equal((await srv.burrow.get(kept)).state, "running");
  });

  it("stays awake while a command streams past sleepAfter", async () => {
    const id = name("busy");
    const sbx = srv.burrow.sandbox(id, { sleepAfter: 1 });
    const r = await sbx.exec("sleep 2.5; echo finished", { stream: true });
    assert.equal(r.stdout, "finished\n");
    assert.equal((await srv.burrow.get(id)).state, "running");
  });

  it("refuses an unknown image and an unenforceable disk limit, leaving nothing behind", async () => {
    const id = name("badimg");
    const r = await srv.api("PUT", `/v1/sandboxes/${id}`, { image: "no-such-image" });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).code, "IMAGE_NOT_FOUND");
    // This data directory is on a filesystem without per-sandbox quotas (test/disk-limits.test.ts has one that does).
    const d = await srv.api("PUT", `/v1/sandboxes/${id}`, { limits: { diskMB: 100 } });
    assert.equal(d.status, 400);
    const refusal = await d.json();
    assert.equal(refusal.code, "LIMIT_NOT_SUPPORTED");
    assert.match(refusal.message, /btrfs quota enable/, "the refusal says how to enable disk limits");
    assert.equal((await (await srv.api("GET", "/v1/status")).json()).diskLimits.enforced, false);
    assert.equal((await srv.api("GET", `/v1/sandboxes/${id}`)).status, 404);
  });

  it("survives a restart: a running sandbox keeps running (live restore), disk and settings kept", async () => {
    const id = name("restart");
    const sbx = srv.burrow.sandbox(id, { keepAlive: true, sleepAfter: "2h", labels: { k: "v" } });
    await sbx.writeFile("/workspace/persist.txt", "before restart");
    await srv.stop();
    assert.ok(runcList(srv.dataDir).includes(id), "a clean stop leaves running sandboxes running (--stop-sandboxes puts them to sleep: test/live-restore.test.ts)");
    await srv.restart();
    const info = await srv.burrow.get(id);
    assert.equal(info.state, "running");
    assert.equal(info.keepAlive, true);
    assert.equal(info.sleepAfter, 7200);
    assert.deepEqual(info.labels, { k: "v" });
    assert.equal((await sbx.readFile("/workspace/persist.txt")).content, "before restart");
  });

  it("after kill -9 mid-write: the sandbox re-attached, earlier files intact, no half-written file", async () => {
    const id = name("crash");
    const sbx = srv.burrow.sandbox(id);
    const good = randomBytes(2 * 1024 * 1024);
    await sbx.writeFile("/workspace/good.bin", good);
    await sbx.writeFile("/workspace/target.bin", "original");
    // Start a slow upload over the existing file, then kill the server under it.
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        await sleep(20);
        if (n++ > 1000) return c.close();
        c.enqueue(randomBytes(64 * 1024));
      },
    });
    const upload = sbx.writeFile("/workspace/target.bin", body).catch((e) => e);
    const underway = Date.now() + 10_000;
    while (n < 10) {
      assert.ok(Date.now() < underway, "the upload did not start");
      await sleep(20);
    }
    await srv.kill9();
    await upload;
    assert.ok(runcList(srv.dataDir).includes(id), "kill -9 leaves the sandbox's container running");
    await srv.restart();
    assert.equal((await srv.burrow.get(id)).state, "running", "re-attached at start");
    const running = new Set((await srv.burrow.list()).filter((s) => s.state === "running").map((s) => s.id));
    assert.deepEqual(runcList(srv.dataDir).filter((c) => !running.has(c)), [], "no container but those of running sandboxes");
    assert.equal(Number(mountsUnder(`${srv.dataDir}/sandboxes`)), running.size, "one root mount per running sandbox, nothing else");
    assert.ok(cgroupsOf(srv.dataDir).every((d) => readdirSync(d, { withFileTypes: true }).every((e) => !e.isDirectory() || running.has(e.name))), "only running sandboxes' cgroups are left");
    const back = await sbx.readFile("/workspace/good.bin", { encoding: "base64" });
    assert.equal(createHash("sha256").update(Buffer.from(back.content, "base64")).digest("hex"), createHash("sha256").update(good).digest("hex"));
    assert.equal((await sbx.readFile("/workspace/target.bin")).content, "original");
    assert.equal((await sbx.exec("ls -a /workspace | grep -c burrow-upload || true")).stdout.trim(), "0");
  });

  it("runs beside a second server with its own port and data directory, the same sandbox names kept apart", async () => {
    const other = await startTestServer();
    try {
      const id = name("twin");
      await srv.burrow.sandbox(id).writeFile("/workspace/who.txt", "first");
      await other.burrow.sandbox(id).writeFile("/workspace/who.txt", "second");
      assert.equal((await srv.burrow.sandbox(id).readFile("/workspace/who.txt")).content, "first");
      assert.equal((await other.burrow.sandbox(id).readFile("/workspace/who.txt")).content, "second");
      await other.burrow.sandbox(id).destroy();
      assert.equal((await srv.burrow.get(id)).state, "running", "destroying one server's sandbox leaves the other's alone");
    } finally {
      await other.cleanup();
    }
  });

  it("answers sleep on an unknown name with 404", async () => {
    await assert.rejects(srv.burrow.sandbox(name("ghost")).sleep(), (e: BurrowApiError) => e.code === "SANDBOX_NOT_FOUND");
  });
});
