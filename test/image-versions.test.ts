import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DEFAULT_PACKAGES, defaultRecipe, ImageStore, readUsage, recipeKey } from "../src/images/index.js";
import { BuildLock } from "../src/images/build-lock.js";
import { Registry } from "../src/sandboxes/registry.js";
import { defaultCacheDir } from "../src/server/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const CLI = new URL("../dist/cli.js", import.meta.url).pathname;

/** A tiny root filesystem (busybox) whose /etc/hello says `hello`. */
function tinyRootfs(dir: string, hello: string): string {
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "etc"), { recursive: true });
  mkdirSync(join(dir, "tmp"), { recursive: true });
  mkdirSync(join(dir, "workspace"), { recursive: true });
  copyFileSync(execFileSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).trim(), join(dir, "bin", "busybox"));
  chmodSync(join(dir, "bin", "busybox"), 0o755);
  for (const applet of ["sh", "cat", "ls", "echo", "sleep", "true", "mkdir"]) symlinkSync("busybox", join(dir, "bin", applet));
  writeFileSync(join(dir, "etc", "hello"), `${hello}\n`);
  return dir;
}

describe("image versions: the recipe and the store", () => {
  let work: string;
  before(() => (work = mkdtempSync(join(tmpdir(), "burrow-imgver-"))));
  after(() => rmSync(work, { recursive: true, force: true }));

  it("names the default image's version by its package list", () => {
    const base = recipeKey(defaultRecipe());
    assert.equal(recipeKey(defaultRecipe([...DEFAULT_PACKAGES].reverse())), base, "order does not matter");
    assert.notEqual(recipeKey(defaultRecipe([...DEFAULT_PACKAGES, "jq"])), base, "a package more is a new version");
    assert.match(base, /^[a-f0-9]{12}$/);
  });

  it("keeps every version, moves the name atomically, reads the layout from before versions, prunes only what nothing uses", async () => {
    const cache = join(work, "cache");
    const store = new ImageStore(cache);
    // An image from before versions: one rootfs right under its name.
    tinyRootfs(join(cache, "images", "old", "rootfs"), "old");
    writeFileSync(join(cache, "images", "old", "meta.json"), JSON.stringify({ name: "old", createdAt: "2020-01-01T00:00:00.000Z", source: "rootfs x" }));
    assert.equal(store.current("old"), "legacy");
    assert.equal(store.rootfs("old"), join(cache, "images", "old", "rootfs"));

    const v1 = await store.import("tiny", tinyRootfs(join(work, "r1"), "one"));
    const v2 = await store.import("tiny", tinyRootfs(join(work, "r2"), "two"));
    assert.notEqual(v1, v2);
    assert.equal(store.current("tiny"), v2, "the name points at the newest version");
    assert.equal(store.resolveVersion("tiny", v1), v1, "an existing version is kept for whoever pins it");
    assert.equal(store.resolveVersion("tiny", "0123456789ab"), v2, "a version this machine lacks resolves to the current one");
    assert.ok(existsSync(join(store.rootfs("tiny", v1), "etc", "hello")));
    assert.deepEqual(store.versions("tiny").map((v) => [v.version, v.current]), [[v2, true], [v1, false]]);
    assert.throws(() => store.rootfs("tiny", "0123456789ab"), (e: Error & { code?: string }) => e.code === "IMAGE_NOT_FOUND");

    // Pinned versions stay, current ones stay; the rest go.
    assert.deepEqual(await store.prune(new Set([`tiny/${v1}`])), []);
    const gone = await store.prune(new Set());
    assert.deepEqual(gone.map((v) => `${v.name}/${v.version}`), [`tiny/${v1}`]);
    assert.equal(existsSync(join(cache, "images", "tiny", v1)), false);
    assert.equal(store.current("tiny"), v2);
    assert.equal(store.current("old"), "legacy", "a legacy image that is current is kept");
  });

  it("takes over a build lock whose builder died, and waits for a live one", async () => {
    const lock = join(work, "x.lock");
    mkdirSync(lock);
    writeFileSync(join(lock, "pid"), "999999999"); // no such process
    assert.equal(await BuildLock.with(lock, () => {}, async () => "built"), "built");
    assert.equal(existsSync(lock), false, "released after the build");
    mkdirSync(lock);
    writeFileSync(join(lock, "pid"), String(process.pid)); // alive: this process
    const waiting: string[] = [];
    const second = BuildLock.with(lock, (l) => waiting.push(l), async () => "after");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(waiting.length, 1, "it waits while the holder lives");
    rmSync(lock, { recursive: true });
    assert.equal(await second, "after");
  });

  it("gives sandboxes from before versions the version 'legacy'", () => {
    const file = join(work, "old.db");
    const db = new Database(file);
    db.exec(`CREATE TABLE sandboxes (id TEXT PRIMARY KEY, image TEXT NOT NULL, env TEXT NOT NULL, sleep_after INTEGER NOT NULL,
      keep_alive INTEGER NOT NULL, limits TEXT NOT NULL, labels TEXT NOT NULL, created_at TEXT NOT NULL, last_active_at TEXT NOT NULL)`);
    db.prepare("INSERT INTO sandboxes VALUES ('a', 'default', '{}', 600, 0, '{}', '{}', 'x', 'x')").run();
    db.close();
    const reg = new Registry(file);
    assert.equal(reg.get("a")!.imageVersion, "legacy");
    reg.close();
  });
});

describe("image versions: an upgrade under live sandboxes", () => {
  let srv: TestServer;
  let work: string;
  const img = name("upg");
  const images = new ImageStore(defaultCacheDir());
  const importImage = (dir: string) => execFileSync(process.execPath, [CLI, "image", "import", img, dir], { encoding: "utf8", stdio: "pipe" });
  const cli = (...args: string[]) => execFileSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "burrow-upg-"));
    srv = await startTestServer();
  });
  after(async () => {
    await srv.cleanup();
    images.remove(img);
    rmSync(work, { recursive: true, force: true });
  });

  it("keeps old sandboxes on their version, gives new ones the new version, moves on request, prunes what nothing stands on", async () => {
    importImage(tinyRootfs(join(work, "v1"), "version one"));
    const v1 = images.current(img)!;
    const old = srv.burrow.sandbox(name("old"), { image: img, keepAlive: true });
    await old.writeFile("/workspace/mine.txt", "my work");
    const proc = await old.startProcess("sleep 300");
    assert.equal((await old.info()).imageVersion, v1);

    // The upgrade: a new version of the same name while `old` runs on v1.
    importImage(tinyRootfs(join(work, "v2"), "version two"));
    const v2 = images.current(img)!;
    assert.notEqual(v1, v2);
    assert.equal((await old.getProcess(proc.id)).status, "running", "its processes keep running");
    assert.equal((await old.exec("cat /etc/hello /workspace/mine.txt")).stdout, "version one\nmy work");
    const fresh = srv.burrow.sandbox(name("new"), { image: img });
    assert.equal((await fresh.exec("cat /etc/hello")).stdout, "version two\n");
    assert.equal((await fresh.info()).imageVersion, v2);

    // Kept across sleep, a restart, snapshots and forks.
    await old.sleep();
    await srv.stop();
    await srv.restart();
    assert.equal((await old.exec("cat /etc/hello")).stdout, "version one\n");
    const snap = await old.snapshot();
    assert.equal(snap.imageVersion, v1);
    const [fork] = await srv.burrow.fork(snap, name("fork"));
    assert.equal((await fork!.info()).imageVersion, v1);
    assert.equal((await fork!.exec("cat /etc/hello /workspace/mine.txt")).stdout, "version one\nmy work");

    // Used versions survive prune, and ls counts who stands on them.
    cli("image", "prune", img);
    assert.ok(images.versions(img).some((v) => v.version === v1), "v1 is still used");
    const use = readUsage(defaultCacheDir()).get(`${img}/${v1}`);
    assert.deepEqual(use, { sandboxes: 2, snapshots: 1 });
    assert.match(cli("image", "ls"), new RegExp(`${img}\\s+${v1}\\s+\\S+ MB\\s+2\\s+1`));

    // An explicit move: refused while running, done while sleeping, with a warning.
    const r1 = await srv.api("PUT", `/v1/sandboxes/${old.id}`, { imageVersion: "latest" });
    assert.equal(r1.status, 409);
    assert.equal(((await r1.json()) as { code: string }).code, "SANDBOX_RUNNING");
    const same = await srv.api("PUT", `/v1/sandboxes/${old.id}`, { image: img });
    assert.equal(((await same.json()) as { imageVersion: string }).imageVersion, v1, "naming the image it has moves nothing");
    await old.sleep();
    const r2 = await srv.api("PUT", `/v1/sandboxes/${old.id}`, { imageVersion: "latest" });
    assert.equal(r2.status, 200);
    const moved = (await r2.json()) as { imageVersion: string; warning?: string };
    assert.equal(moved.imageVersion, v2);
    assert.match(moved.warning ?? "", /may now differ/);
    assert.equal((await old.exec("cat /etc/hello /workspace/mine.txt")).stdout, "version two\nmy work");

    // Once nothing stands on v1, prune removes it; the current version stays.
    await fork!.destroy();
    cli("image", "prune", img);
    assert.ok(images.versions(img).some((v) => v.version === v1), "the snapshot still stands on v1");
    await srv.burrow.deleteSnapshot(snap.id);
    assert.match(cli("image", "prune", img), new RegExp(`removed ${img} ${v1}`));
    assert.deepEqual(images.versions(img).map((v) => v.version), [v2]);
    await old.destroy();
    await fresh.destroy();
  });
});

describe("image versions: the warm pool follows the current version", () => {
  let srv: TestServer;
  let work: string;
  const img = name("pooled");
  const images = new ImageStore(defaultCacheDir());
  const importImage = (dir: string) => execFileSync(process.execPath, [CLI, "image", "import", img, dir], { stdio: "pipe" });
  const pooled = async () => ((await (await srv.api("GET", "/v1/status")).json()) as { pooled: number }).pooled;
  const full = async () => {
    for (let i = 0; i < 200 && (await pooled()) < 1; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await pooled(), 1, "the pool filled");
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "burrow-upg-pool-"));
    importImage(tinyRootfs(join(work, "v1"), "version one"));
    srv = await startTestServer({ env: { BURROW_DEFAULT_IMAGE: img, BURROW_POOL: "1" } });
  });
  after(async () => {
    await srv?.cleanup();
    images.remove(img);
    rmSync(work, { recursive: true, force: true });
  });

  it("never hands out a container on the old version, and refills on the new one", async () => {
    await full();
    importImage(tinyRootfs(join(work, "v2"), "version two"));
    const v2 = images.current(img)!;
    const a = srv.burrow.sandbox(name("a"));
    assert.equal((await a.exec("cat /etc/hello")).stdout, "version two\n");
    assert.equal((await a.info()).imageVersion, v2);
    await full();
    const b = srv.burrow.sandbox(name("b"));
    assert.equal((await b.exec("cat /etc/hello")).stdout, "version two\n", "the refilled pool stands on the new version");
    // A claimed container keeps its pool slot's runc name: b came from the pool, so the stale slot was replaced.
    const runc = execFileSync("runc", ["--root", join(srv.dataDir, "runc"), "list", "-q"], { encoding: "utf8" }).split("\n");
    assert.ok(runc.includes(a.id) && !runc.includes(b.id), `a started fresh, b was a pool slot: ${runc.join(" ")}`);
    await a.destroy();
    await b.destroy();
  });
});
