import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

describe("snapshots and forks", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { BURROW_SNAPSHOT_MAX_DEPTH: "3" } });
  });
  after(() => srv.cleanup());

  it("a snapshot of a running sandbox keeps its processes and freezes the disk as it was", async () => {
    const sbx = srv.burrow.sandbox(name("origin"));
    await sbx.writeFile("/workspace/a.txt", "one");
    await sbx.exec("mkdir -p /workspace/deep/er && echo x > /workspace/deep/er/f && ln -s a.txt /workspace/link && rm /etc/motd");
    const p = await sbx.startProcess("sleep 600");
    const snap = await sbx.snapshot();
    assert.match(snap.id, /^snap-[a-f0-9]{12}$/);
    assert.equal(snap.sandboxId, sbx.id);
    assert.equal(snap.image, "default");
    assert.equal(snap.parent, null);
    assert.equal(snap.depth, 1);
    assert.ok(snap.sizeBytes > 0);
    assert.equal((await sbx.getProcess(p.id)).status, "running");
    await sbx.writeFile("/workspace/a.txt", "two");
    const [fork] = await srv.burrow.fork(snap, name("restored"));
    assert.equal((await fork!.readFile("/workspace/a.txt")).content, "one");
    assert.equal((await fork!.exec("cat /workspace/deep/er/f; readlink /workspace/link; test -e /etc/motd || echo gone")).stdout, "x\na.txt\ngone\n");
    assert.equal((await fork!.info()).baseSnapshot, snap.id);
    assert.equal((await sbx.readFile("/workspace/a.txt")).content, "two");
  });

  it("forks many at once; none sees another's writes or the origin's", async () => {
    const origin = srv.burrow.sandbox(name("many"));
    await origin.writeFile("/workspace/state.txt", "base");
    const snap = await origin.snapshot();
    const forks = await srv.burrow.fork(snap, { count: 5, prefix: name("f") });
    assert.equal(forks.length, 5);
    await Promise.all(forks.map((f, i) => f.writeFile("/workspace/state.txt", `fork ${i}`)));
    await origin.writeFile("/workspace/state.txt", "origin later");
    for (const [i, f] of forks.entries()) assert.equal((await f.readFile("/workspace/state.txt")).content, `fork ${i}`);
    assert.equal((await origin.readFile("/workspace/state.txt")).content, "origin later");
    const names = forks.map((f) => f.id);
    assert.equal(new Set(names).size, 5);
    // Forks survive a restart on their layers.
    await srv.stop();
    await srv.restart();
    assert.equal((await srv.burrow.sandbox(names[3]!).readFile("/workspace/state.txt")).content, "fork 3");
  });

  it("a snapshot of a fork holds only what changed; deep chains are flattened without the user noticing", async () => {
    let sbx = srv.burrow.sandbox(name("chain"));
    await sbx.writeFile("/workspace/big.bin", "B".repeat(200_000));
    await sbx.exec("rm -rf /usr/share/doc && mkdir -p /usr/share/doc && echo mine > /usr/share/doc/only");
    let snap = await sbx.snapshot();
    const seen: number[] = [snap.depth];
    for (let i = 0; i < 4; i++) {
      sbx = (await srv.burrow.fork(snap, name(`c${i}`)))[0]!;
      await sbx!.writeFile(`/workspace/step${i}.txt`, String(i));
      snap = await sbx!.snapshot();
      seen.push(snap.depth);
      if (snap.depth > 1) assert.ok(snap.sizeBytes < 100_000, `a chained snapshot holds only its changes (${snap.sizeBytes} bytes)`);
    }
    assert.ok(Math.max(...seen) <= 3, `depth stays bounded: ${seen}`);
    assert.ok(seen.some((d) => d > 1), `chains grow before they are flattened: ${seen}`);
    assert.ok(seen.includes(1) && seen.lastIndexOf(1) > 0, `a flattened snapshot restarts the chain: ${seen}`);
    const [last] = await srv.burrow.fork(snap, name("end"));
    const r = await last!.exec("wc -c < /workspace/big.bin; cat /workspace/step0.txt /workspace/step3.txt; ls /usr/share/doc");
    assert.equal(r.stdout, "200000\n03only\n");
  });

  it("sleep with persist snapshot freezes the disk and the sandbox wakes on it", async () => {
    const sbx = srv.burrow.sandbox(name("laptop"));
    await sbx.writeFile("/workspace/notes.txt", "remember");
    const info = await sbx.sleep({ persist: "snapshot" });
    assert.equal(info.state, "sleeping");
    assert.ok(info.baseSnapshot);
    const snap = await srv.burrow.getSnapshot(info.baseSnapshot!);
    assert.equal(snap.kind, "sleep");
    assert.equal((await sbx.readFile("/workspace/notes.txt")).content, "remember");
    // A per-sandbox setting does the same on every sleep.
    const s2 = srv.burrow.sandbox(name("always"), { persist: "snapshot" });
    await s2.writeFile("/workspace/x", "1");
    const i2 = await s2.sleep();
    assert.ok(i2.baseSnapshot);
    await s2.writeFile("/workspace/x", "2");
    const i3 = await s2.sleep();
    assert.notEqual(i3.baseSnapshot, i2.baseSnapshot);
    assert.equal((await s2.readFile("/workspace/x")).content, "2");
    // Sleep snapshots go away with their sandbox when nothing else stands on them.
    await s2.destroy();
    assert.equal((await srv.api("GET", `/v1/snapshots/${i3.baseSnapshot}`)).status, 404);
  });

  it("refuses to delete a snapshot something stands on, and deletes it once free", async () => {
    const sbx = srv.burrow.sandbox(name("del"));
    await sbx.writeFile("/workspace/f", "x");
    const snap = await sbx.snapshot();
    const [fork] = await srv.burrow.fork(snap, name("user"));
    const r = await srv.api("DELETE", `/v1/snapshots/${snap.id}`);
    assert.equal(r.status, 409);
    const body = await r.json();
    assert.equal(body.code, "SNAPSHOT_IN_USE");
    assert.deepEqual(body.sandboxes, [fork!.id]);
    await fork!.destroy();
    assert.equal((await srv.api("DELETE", `/v1/snapshots/${snap.id}`)).status, 200);
    assert.equal(existsSync(`${srv.dataDir}/layers/${snap.id}`), false);
    assert.equal((await srv.api("GET", `/v1/snapshots/${snap.id}`)).status, 404);
  });

  it("bad input gets clear 4xx answers and leaves nothing behind", async () => {
    const sbx = srv.burrow.sandbox(name("bad"));
    const snap = await sbx.snapshot();
    const unknown = await srv.api("PUT", `/v1/sandboxes/${name("x")}`, { fromSnapshot: "snap-000000000000" });
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).code, "SNAPSHOT_NOT_FOUND");
    const malformed = await srv.api("PUT", `/v1/sandboxes/${name("x")}`, { fromSnapshot: "../../etc" });
    assert.equal(malformed.status, 400);
    const exists = await srv.api("PUT", `/v1/sandboxes/${sbx.id}`, { fromSnapshot: snap.id });
    assert.equal(exists.status, 409);
    assert.equal((await exists.json()).code, "SANDBOX_EXISTS");
    const taken = name("taken");
    await srv.burrow.sandbox(taken).ensure();
    const clash = await srv.api("POST", `/v1/snapshots/${snap.id}/fork`, { names: [name("free"), taken] });
    assert.equal(clash.status, 409);
    const both = await srv.api("POST", `/v1/snapshots/${snap.id}/fork`, { names: ["a"], count: 2 });
    assert.equal(both.status, 400);
    assert.equal((await srv.api("POST", `/v1/snapshots/nope/fork`, { count: 1 })).status, 400);
    assert.equal((await srv.api("POST", `/v1/sandboxes/BAD_NAME/snapshots`)).status, 400);
    assert.deepEqual(readdirSync(`${srv.dataDir}/layers`).filter((n) => n.startsWith(".tmp")), []);
  });
});
