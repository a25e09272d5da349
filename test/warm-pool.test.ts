import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { name, startTestServer, type TestServer } from "./helpers/server.js";
import { leftovers } from "./helpers/leaks.js";

const runcList = (dataDir: string) =>
  execFileSync("runc", ["--root", `${dataDir}/runc`, "list", "-q"], { encoding: "utf8" }).split("\n").filter(Boolean);

describe("warm pool", () => {
  let srv: TestServer;
  const pooled = async () => (await (await srv.api("GET", "/v1/status")).json()).pooled as number;
  const full = async (n: number) => {
    for (let i = 0; i < 200 && (await pooled()) < n; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await pooled(), n);
  };
  before(async () => {
    srv = await startTestServer({ env: { BURROW_POOL: "2" } });
  });
  after(() => srv.cleanup());

  it("a new sandbox takes a pre-started one, named, with its env; the pool refills", async () => {
    await full(2);
    const id = name("warm");
    const r = await srv.api("PUT", `/v1/sandboxes/${id}`, { env: { GREETING: "hi" }, labels: { from: "pool" } });
    assert.equal(r.status, 201);
    const sbx = srv.burrow.sandbox(id);
    const out = await sbx.exec("hostname; echo $GREETING; ls /workspace | wc -l");
    assert.equal(out.stdout, `${id}\nhi\n0\n`);
    assert.equal((await sbx.info()).labels.from, "pool");
    assert.ok(existsSync(`${srv.dataDir}/sandboxes/${id}/upper`));
    assert.ok(!runcList(srv.dataDir).includes(id) && runcList(srv.dataDir).some((c) => c.startsWith("_pool-")), "it runs in a claimed pool container");
    await full(2);
    // It behaves like any sandbox: files, sleep, wake.
    await sbx.writeFile("/workspace/keep.txt", "kept");
    await sbx.sleep();
    assert.equal((await sbx.readFile("/workspace/keep.txt")).content, "kept");
    assert.equal((await sbx.exec("hostname")).stdout, `${id}\n`);
  });

  it("a sandbox in a claimed pool container is re-attached after a restart; the pool's own slots are replaced", async () => {
    await full(2);
    const id = name("claimed");
    const sbx = srv.burrow.sandbox(id);
    const p = await sbx.startProcess("sleep 600");
    const slot = readFileSync(`${srv.dataDir}/sandboxes/${id}/container-id`, "utf8");
    assert.match(slot, /^_pool-/);
    await srv.stop();
    assert.deepEqual(runcList(srv.dataDir).filter((c) => c.startsWith("_pool")), [slot], "of the pool, only the claimed slot is left running");
    await srv.restart();
    assert.equal((await sbx.info()).state, "running");
    assert.equal((await sbx.getProcess(p.id)).status, "running", "its process lived on");
    assert.equal((await sbx.exec("hostname")).stdout, `${id}\n`);
    await full(2);
  });

  it("pooled sandboxes are independent of each other", async () => {
    await full(2);
    const [a, b] = [srv.burrow.sandbox(name("pa")), srv.burrow.sandbox(name("pb"))];
    await Promise.all([a.writeFile("/workspace/who", "a"), b.writeFile("/workspace/who", "b")]);
    assert.equal((await a.readFile("/workspace/who")).content, "a");
    assert.equal((await b.readFile("/workspace/who")).content, "b");
  });

  it("a create with other limits or from a snapshot starts fresh; shutdown leaves no pool containers behind", async () => {
    await full(2);
    const id = name("limited");
    await srv.burrow.sandbox(id, { limits: { memoryMB: 300 } }).exec("true");
    // A claimed container keeps its pool slot's runc name; a fresh one is named for its sandbox.
    assert.ok(runcList(srv.dataDir).includes(id), "the sandbox started its own container");
    assert.equal(await pooled(), 2, "the pool was not used");
    await srv.stop();
    // Unclaimed pool slots go at shutdown; running sandboxes (claimed slots too) stay for the next start (live restore).
    const sandboxes = `${srv.dataDir}/sandboxes`;
    const owned = new Set(readdirSync(sandboxes).map((n) => (existsSync(`${sandboxes}/${n}/container-id`) ? readFileSync(`${sandboxes}/${n}/container-id`, "utf8") : n)));
    assert.deepEqual(runcList(srv.dataDir).filter((c) => !owned.has(c)), []);
    assert.ok(runcList(srv.dataDir).includes(id));
    assert.deepEqual(readdirSync(`${srv.dataDir}/sandboxes`).filter((n) => n.startsWith("_pool")), []);
    await srv.restart();
    assert.equal((await srv.burrow.get(id)).state, "running", "re-attached at start");
  });

  it("a server stopped while its pool is still filling leaves no container, mount or cgroup", async () => {
    const other = await startTestServer({ env: { BURROW_POOL: "2" } });
    // Stop at once: the pool's first container is starting now.
    await other.stop();
    assert.deepEqual(leftovers(other.dataDir), { containers: [], mounts: [], cgroups: [] });
    await other.cleanup();
    assert.equal(existsSync(other.dataDir), false);
  });

  it("the test helper's cleanup after a kill -9 leaves no container, mount or cgroup either", async () => {
    const other = await startTestServer({ env: { BURROW_POOL: "1" } });
    await other.burrow.sandbox(name("orphan")).exec("true");
    await other.kill9();
    assert.ok(leftovers(other.dataDir).containers.length > 0, "a killed server leaves containers for the cleanup to find");
    await other.cleanup();
    assert.deepEqual(leftovers(other.dataDir), { containers: [], mounts: [], cgroups: [] });
  });
});

describe("warm pool of a snapshot (--pool snapshot:<id>=N)", () => {
  let srv: TestServer;
  let sid: string;
  const key = () => `snapshot:${sid}`;
  const pools = async () => (await (await srv.api("GET", "/v1/status")).json()).pools as Record<string, { ready: number; size: number }>;
  const ready = async (n: number) => {
    for (let i = 0; i < 300 && (await pools())[key()]?.ready !== n; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual((await pools())[key()], { ready: n, size: 2 });
  };
  before(async () => {
    srv = await startTestServer({ env: { BURROW_POOL: "0" } });
    const golden = srv.burrow.sandbox(name("golden"));
    await golden.writeFile("/workspace/golden.txt", "golden");
    await golden.exec("mkdir -p /opt/tool && echo v1 > /opt/tool/version");
    sid = (await golden.snapshot()).id;
    await golden.destroy();
    // The pool is configured at start, as an operator would: the snapshot must exist by then.
    await srv.stop();
    await srv.restart({ env: { BURROW_POOL: `snapshot:${sid}=2` } });
  });
  after(() => srv.cleanup());

  it("forks take pre-started sandboxes standing on the snapshot, each with its own disk and env; the pool refills", async () => {
    await ready(2);
    const [a, b] = [name("fa"), name("fb")];
    for (const id of [a, b]) assert.equal((await srv.api("PUT", `/v1/sandboxes/${id}`, { fromSnapshot: sid, env: { WHO: id } })).status, 201);
    for (const id of [a, b]) {
      assert.match(readFileSync(`${srv.dataDir}/sandboxes/${id}/container-id`, "utf8"), /^_pool-/, `${id} runs in a claimed pool container`);
      const out = await srv.burrow.sandbox(id).exec("cat /workspace/golden.txt /opt/tool/version; hostname; echo $WHO");
      assert.equal(out.stdout, `goldenv1\n${id}\n${id}\n`);
    }
    await srv.burrow.sandbox(a).writeFile("/workspace/only-a.txt", "a");
    assert.equal((await srv.burrow.sandbox(b).exec("ls /workspace")).stdout, "golden.txt\n", "the forks share no upper layer");
    assert.equal((await srv.burrow.get(a)).image, "default");
    await ready(2);
    // The fork API takes them too.
    const forks = await srv.burrow.fork(sid, [name("fc")]);
    assert.match(readFileSync(`${srv.dataDir}/sandboxes/${forks[0]!.id}/container-id`, "utf8"), /^_pool-/);
    for (const id of [a, b, forks[0]!.id]) await srv.burrow.sandbox(id).destroy();
  });

  it("does not keep its snapshot: deleting it stops the ready ones and refills nothing; the server goes on", async () => {
    await ready(2);
    const user = name("fuser");
    await srv.burrow.sandbox(user, { fromSnapshot: sid }).exec("true");
    const refused = await srv.api("DELETE", `/v1/snapshots/${sid}`);
    assert.equal(refused.status, 409, "a sandbox someone made still stands on it");
    assert.match(((await refused.json()) as { message: string }).message, new RegExp(`sandbox ${user}`));
    await srv.burrow.sandbox(user).destroy();
    await ready(2);
    await srv.burrow.deleteSnapshot(sid);
    assert.deepEqual((await pools())[key()], { ready: 0, size: 2 });
    assert.deepEqual(runcList(srv.dataDir).filter((c) => c.startsWith("_pool-")), [], "the ready containers were stopped");
    assert.deepEqual(readdirSync(`${srv.dataDir}/sandboxes`).filter((n) => n.startsWith("_pool")), []);
    assert.equal(existsSync(`${srv.dataDir}/layers/${sid}`), false, "its layer is gone");
    assert.equal((await srv.api("PUT", `/v1/sandboxes/${name("late")}`, { fromSnapshot: sid })).status, 404);
    assert.equal((await srv.burrow.sandbox(name("after")).exec("echo ok")).stdout, "ok\n");
    assert.equal((await pools())[key()]!.ready, 0, "nothing was refilled on a deleted snapshot");
  });
});
