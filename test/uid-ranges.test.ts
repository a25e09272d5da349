import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { SANDBOX_ID_OFFSET } from "../src/confine/index.js";
import { DEFAULT_UID_POOL, parseUidPool, UidRanges } from "../src/sandboxes/uid-ranges.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const RANGE = 65536;
const BASE = 300000;
const inRange = (id: number, base: number) => id >= base && id < base + RANGE;

describe("uid ranges: parsing and allocation", () => {
  it("parses BASE:COUNT and refuses ranges that overlap the canonical one or run past the last id", () => {
    assert.deepEqual(parseUidPool(undefined), DEFAULT_UID_POOL);
    assert.deepEqual(parseUidPool("300000:8"), { base: 300000, count: 8 });
    assert.throws(() => parseUidPool("100000:2"), /overlaps 100000\.\.165535/);
    assert.throws(() => parseUidPool("70000:2"), /overlaps/);
    assert.throws(() => parseUidPool("1000:2"), /among the host's own users/);
    assert.throws(() => parseUidPool("4294900000:2"), /ends past/);
    assert.throws(() => parseUidPool("300000"), /pass BASE:COUNT/);
    assert.throws(() => parseUidPool("300000:0"), /no ranges/);
  });

  it("gives each owner its own range, keeps recorded ones, moves a slot's to its sandbox and frees on release", () => {
    const r = new UidRanges({ base: BASE, count: 3 }, [{ id: "old", uidBase: SANDBOX_ID_OFFSET }, { id: "kept", uidBase: BASE + RANGE }]);
    assert.equal(r.allocate("a"), BASE);
    assert.equal(r.allocate("a"), BASE, "the same owner keeps its range");
    assert.equal(r.allocate("_pool-1"), BASE + 2 * RANGE, "the recorded range is skipped");
    assert.throws(() => r.allocate("b"), (e: { code?: string }) => e.code === "UID_RANGES_EXHAUSTED");
    r.rename("_pool-1", "c");
    r.release("_pool-1");
    assert.throws(() => r.allocate("b"), /larger --uid-ranges/, "the slot's range went with it to c");
    r.release("a");
    assert.equal(r.allocate("b"), BASE, "a released range is handed out again");
  });
});

describe("each sandbox has a uid range of its own", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ args: ["--uid-ranges", `${BASE}:8`], env: { BURROW_SNAPSHOT_MAX_DEPTH: "3" } });
  });
  after(() => srv.cleanup());

  const dir = (id: string) => join(srv.dataDir, "sandboxes", id);
  const baseOf = (id: string) => lstatSync(join(dir(id), "upper")).uid;
  /** Owners of every file under a tree on the host (lstat, no link followed). */
  const owners = (root: string): { uid: number; gid: number }[] => {
    const out: { uid: number; gid: number }[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const st = lstatSync(join(d, e.name));
        out.push({ uid: st.uid, gid: st.gid });
        if (e.isDirectory()) walk(join(d, e.name));
      }
    };
    walk(root);
    return out;
  };
  /** What a sandbox sees: owners of an image file, its own files, and its uid map. */
  const inside = async (sbx: ReturnType<TestServer["burrow"]["sandbox"]>) =>
    (await sbx.exec("stat -c %u:%g /etc/passwd /workspace/mine /workspace/theirs; cat /proc/self/uid_map")).stdout.split("\n");

  it("two sandboxes' files on the host are owned by disjoint ranges; inside, image files are root's and theirs their users'", async () => {
    const a = srv.burrow.sandbox(name("ua"));
    const b = srv.burrow.sandbox(name("ub"));
    for (const s of [a, b]) await s.exec("mkdir -p /workspace && echo x > /workspace/mine && echo y > /workspace/theirs && chown 1000:1000 /workspace/theirs");
    const [ba, bb] = [baseOf(a.id), baseOf(b.id)];
    assert.notEqual(ba, bb);
    for (const base of [ba, bb]) assert.ok(base >= BASE && base < BASE + 8 * RANGE && (base - BASE) % RANGE === 0, `base ${base}`);
    for (const [s, base] of [[a, ba], [b, bb]] as const) {
      const files = owners(join(dir(s.id), "upper"));
      assert.ok(files.length > 0);
      for (const f of files) assert.ok(inRange(f.uid, base) && inRange(f.gid, base), `${s.id}: owner ${f.uid}:${f.gid} outside ${base}..`);
      assert.equal(lstatSync(join(dir(s.id), "upper", "workspace", "theirs")).uid, base + 1000);
      const [passwd, mine, theirs, map] = await inside(s);
      assert.equal(passwd, "0:0", "image files are root's inside");
      assert.equal(mine, "0:0");
      assert.equal(theirs, "1000:1000");
      assert.match(map!, new RegExp(`^\\s*0\\s+${base}\\s+65536$`));
    }
    // The image stays stored once, in the canonical range.
    const mountinfo = (await a.exec("cat /proc/self/mountinfo")).stdout;
    assert.match(mountinfo.split("\n")[0]!, / overlay .*lowerdir\+=\/.*upperdir=\/upper,workdir=\/work/);
    for (const p of [srv.dataDir, "/var/", "/tmp/"]) assert.ok(!mountinfo.includes(p), `mountinfo shows ${p}`);
    await b.destroy();
    // Its range is free again: the next sandbox gets it.
    const c = srv.burrow.sandbox(name("uc"));
    await c.exec("true");
    assert.equal(baseOf(c.id), bb);
    await c.destroy();
    await a.destroy();
  });

  it("snapshots are stored in the canonical range and forks see them owned right in their own range", async () => {
    const a = srv.burrow.sandbox(name("sa"));
    await a.exec("mkdir -p /workspace && echo x > /workspace/mine && echo y > /workspace/theirs && chown 1000:1000 /workspace/theirs && cp /usr/bin/id /workspace/suid && chmod 4755 /workspace/suid");
    const ba = baseOf(a.id);
    // A running sandbox's upper layer is copied, then shifted.
    const running = (await a.snapshot()).id;
    const layer = join(srv.dataDir, "layers", running);
    for (const f of owners(layer)) assert.ok(inRange(f.uid, SANDBOX_ID_OFFSET) && inRange(f.gid, SANDBOX_ID_OFFSET), `layer owner ${f.uid}:${f.gid}`);
    assert.equal(lstatSync(join(layer, "workspace", "theirs")).uid, SANDBOX_ID_OFFSET + 1000);
    assert.equal(lstatSync(join(layer, "workspace", "suid")).mode & 0o7777, 0o4755, "the setuid bit survives the shift");
    const [fork] = await srv.burrow.fork(running, name("sf"));
    const bf = baseOf(fork!.id);
    assert.notEqual(bf, ba);
    const [passwd, mine, theirs] = await inside(fork!);
    assert.deepEqual([passwd, mine, theirs], ["0:0", "0:0", "1000:1000"]);
    // Writing a file from the snapshot copies it up into the fork's own range.
    await fork!.exec("echo more >> /workspace/theirs && touch /workspace/forked");
    assert.equal(lstatSync(join(dir(fork!.id), "upper", "workspace", "theirs")).uid, bf + 1000);
    assert.equal(lstatSync(join(dir(fork!.id), "upper", "workspace", "forked")).uid, bf);
    assert.equal(lstatSync(join(layer, "workspace", "theirs")).uid, SANDBOX_ID_OFFSET + 1000, "the layer itself is untouched");

    // A sleeping sandbox gives its upper layer up: shifted in place.
    await a.exec("echo z > /workspace/slept && chown 1000:1000 /workspace/slept");
    await a.sleep();
    const slept = (await a.snapshot()).id;
    for (const f of owners(join(srv.dataDir, "layers", slept))) assert.ok(inRange(f.uid, SANDBOX_ID_OFFSET), `layer owner ${f.uid}`);
    // It wakes on the new layer with its own range, owners as before.
    assert.equal((await a.exec("stat -c %u /workspace/slept /workspace/mine; touch /workspace/after")).stdout, "1000\n0\n");
    assert.equal(baseOf(a.id), ba);
    assert.equal(lstatSync(join(dir(a.id), "upper", "workspace", "after")).uid, ba);
    // Restored into another sandbox, the chain of both layers is right too.
    const [again] = await srv.burrow.fork(slept, name("sr"));
    assert.equal((await again!.exec("stat -c %u /workspace/slept /workspace/theirs /workspace/mine /etc/passwd")).stdout, "1000\n1000\n0\n0\n");
    for (const s of [again!, fork!, a]) await s.destroy();
  });

  it("ranges are kept across sleep and a server restart (live restore), and new sandboxes never take a held one", async () => {
    const a = srv.burrow.sandbox(name("la"));
    const b = srv.burrow.sandbox(name("lb"));
    await a.exec("touch /workspace/a");
    await b.exec("touch /workspace/b");
    const [ba, bb] = [baseOf(a.id), baseOf(b.id)];
    await b.sleep();
    await srv.stop();
    await srv.restart();
    // a was re-attached running; b sleeps and wakes in the range it had.
    assert.match((await a.exec("cat /proc/self/uid_map")).stdout, new RegExp(`^\\s*0\\s+${ba}\\s`));
    const c = srv.burrow.sandbox(name("lc"));
    await c.exec("true");
    assert.ok(![ba, bb].includes(baseOf(c.id)), "a new sandbox took a range a sleeping or running one holds");
    assert.match((await b.exec("cat /proc/self/uid_map; stat -c %u /workspace/b")).stdout, new RegExp(`^\\s*0\\s+${bb}\\s+65536\\n0\\n$`));
    for (const s of [a, b, c]) await s.destroy();
  });
});

describe("warm-pool slots hold ranges of their own", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ args: ["--uid-ranges", `${BASE}:8`], env: { BURROW_POOL: "2" } });
  });
  after(() => srv.cleanup());

  it("a claimed slot's range becomes its sandbox's, and two claims never share one", async () => {
    const ready = async () => {
      for (let i = 0; i < 300; i++) {
        const slots = readdirSync(join(srv.dataDir, "sandboxes")).filter((n) => n.startsWith("_pool-"));
        if (slots.length === 2 && slots.every((s) => lstatSync(join(srv.dataDir, "sandboxes", s, "upper")).uid >= BASE)) return slots;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail("the pool did not fill");
    };
    const slots = await ready();
    const slotBases = slots.map((s) => lstatSync(join(srv.dataDir, "sandboxes", s, "upper")).uid);
    assert.notEqual(slotBases[0], slotBases[1]);
    const a = srv.burrow.sandbox(name("pa"));
    const b = srv.burrow.sandbox(name("pb"));
    await Promise.all([a.exec("touch /workspace/x"), b.exec("touch /workspace/x")]);
    const bases = [a, b].map((s) => lstatSync(join(srv.dataDir, "sandboxes", s.id, "upper")).uid);
    assert.notEqual(bases[0], bases[1]);
    for (const [i, s] of [a, b].entries()) {
      assert.match((await s.exec("cat /proc/self/uid_map")).stdout, new RegExp(`^\\s*0\\s+${bases[i]}\\s`));
      assert.equal(lstatSync(join(srv.dataDir, "sandboxes", s.id, "upper", "workspace", "x")).uid, bases[i]);
    }
    // The refilled slots are in ranges no sandbox holds.
    const refilled = (await ready()).map((s) => lstatSync(join(srv.dataDir, "sandboxes", s, "upper")).uid);
    for (const r of refilled) assert.ok(!bases.includes(r));
    await a.destroy();
    await b.destroy();
  });
});
