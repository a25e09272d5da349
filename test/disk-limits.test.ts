import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

// A real btrfs filesystem in a loop-mounted image file, with quota groups on:
// the data directory lives there, so each sandbox's directory is a limited subvolume.
const root = new URL("..", import.meta.url).pathname;
const helper = join(root, "dist/burrow-diskquota");
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8" });
const canMake = spawnSync("sh", ["-c", "command -v mkfs.btrfs && command -v btrfs"], { stdio: "ignore" }).status === 0;

describe("disk limits (btrfs quota groups)", { skip: canMake ? false : "mkfs.btrfs and btrfs are missing (apt-get install btrfs-progs; npm test's setup installs it)" }, () => {
  let srv: TestServer;
  let base: string;
  let mnt: string;
  let data: string;

  const exec = async (id: string, command: string) => {
    const r = await srv.api("POST", `/v1/sandboxes/${id}/exec`, { command });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as { exitCode: number; stdout: string; stderr: string };
  };
  const fill = (id: string, mb: number, file = "/workspace/big") => exec(id, `dd if=/dev/zero of=${file} bs=1M count=${mb} conv=fsync 2>&1 >/dev/null; echo "exit=$?"`);
  const subvolId = (id: string) => sh("btrfs", ["inspect-internal", "rootid", join(data, "sandboxes", id)]).trim();
  const qgroups = () => sh("btrfs", ["qgroup", "show", "--raw", mnt]);

  before(async () => {
    base = mkdtempSync(join(tmpdir(), "burrow-disk-"));
    chmodSync(base, 0o711); // sandboxes' user namespace must pass through to reach their rootfs
    mnt = join(base, "mnt");
    mkdirSync(mnt, { mode: 0o711 });
    const img = join(base, "data.img");
    sh("truncate", ["-s", "2G", img]);
    sh("mkfs.btrfs", ["-q", img]);
    sh("mount", ["-o", "loop", img, mnt]);
    sh("btrfs", ["quota", "enable", mnt]);
    chmodSync(mnt, 0o711);
    data = join(mnt, "data");
    mkdirSync(data, { mode: 0o711 });
    srv = await startTestServer({ dataDir: data, args: ["--default-disk-mb", "64"], env: { BURROW_MIN_FREE_MB: "100", BURROW_POOL: "1" } });
  });

  after(async () => {
    try {
      await srv?.cleanup();
    } finally {
      // The loop device goes with the mount (mount -o loop sets autoclear); the image with the directory.
      if (mnt && readFileSync("/proc/self/mountinfo", "utf8").includes(` ${mnt} `)) {
        if (spawnSync("umount", [mnt]).status !== 0) spawnSync("umount", ["-l", mnt]);
      }
      if (base) rmSync(base, { recursive: true, force: true });
    }
  });

  it("says in GET /v1/status that disk limits are enforced, with the default", async () => {
    const s = await (await srv.api("GET", "/v1/status")).json();
    assert.deepEqual(s.diskLimits, { enforced: true, mechanism: "btrfs-qgroups", defaultMB: 64 });
  });

  it("stops a sandbox at its limit with EDQUOT, and nothing else is harmed", async () => {
    const a = name("disk-a");
    const b = name("disk-b");
    const put = await srv.api("PUT", `/v1/sandboxes/${a}`, { limits: { diskMB: 20 } });
    assert.equal(put.status, 201);
    assert.equal((await put.json()).limits.diskMB, 20);
    const full = await fill(a, 30);
    assert.match(full.stdout, /Disk quota exceeded/, full.stdout);
    assert.match(full.stdout, /exit=1/);
    const size = Number((await exec(a, "stat -c %s /workspace/big")).stdout);
    assert.ok(size <= 20 * 1024 * 1024, `wrote ${size} bytes past a 20 MB limit`);
    // The server, the registry and other sandboxes carry on.
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    // Default limits: it comes from the warm pool, whose slot was made with the default disk limit.
    for (let i = 0; i < 100 && (await (await srv.api("GET", "/v1/status")).json()).pooled < 1; i++) await new Promise((r) => setTimeout(r, 100));
    const other = await srv.api("PUT", `/v1/sandboxes/${b}`, {});
    assert.equal(other.status, 201);
    assert.match(await (await srv.api("GET", "/metrics")).text(), /burrow_sandbox_starts_total\{kind="pool"\} 1/);
    assert.equal((await other.json()).limits.diskMB, 64, "the default limit");
    assert.match((await fill(b, 30)).stdout, /exit=0/);
    // The files API says so with a stable code, not a 500.
    const upload = await fetch(`${srv.url}/v1/sandboxes/${a}/files?path=/workspace/upload.bin`, {
      method: "PUT", headers: { authorization: `Bearer ${srv.token}` }, body: new Uint8Array(4 * 1024 * 1024),
    });
    assert.equal(upload.status, 507, `${upload.status} ${await upload.clone().text()}`);
    assert.equal((await upload.json()).code, "DISK_FULL");
    // Deleting frees the space again.
    assert.match((await exec(a, "rm /workspace/big && echo gone")).stdout, /gone/);
    assert.match((await fill(a, 10)).stdout, /exit=0/);
    assert.match((await exec(a, "echo small > /workspace/note.txt && cat /workspace/note.txt")).stdout, /small/);
    // Nothing inside can get out from under the limit: overlayfs passes no btrfs ioctls through (here BTRFS_IOC_SUBVOL_CREATE).
    const escape = await exec(a, `python3 -c 'import fcntl,os,struct; fd=os.open("/workspace",os.O_RDONLY); fcntl.ioctl(fd, 0x5000940e, bytearray(struct.pack("q4088s", 0, b"free")))' 2>&1; ls -d /workspace/free 2>&1`);
    assert.match(escape.stdout, /Inappropriate ioctl for device/, escape.stdout);
    assert.match(escape.stdout, /No such file/);
    await srv.api("DELETE", `/v1/sandboxes/${b}`);
  });

  it("holds under load: two sandboxes at their limits at once while a third keeps answering", async () => {
    const [a, b, c] = [name("load-a"), name("load-b"), name("load-c")];
    for (const id of [a, b]) await srv.api("PUT", `/v1/sandboxes/${id}`, { limits: { diskMB: 24 } });
    await srv.api("PUT", `/v1/sandboxes/${c}`, {});
    // Each writer tries 4 files of 10 MB at once: together more than its limit.
    const writers = [a, b].map((id) => exec(id, `for i in 1 2 3 4; do dd if=/dev/zero of=/workspace/f$i bs=1M count=10 2>&1 & done; wait; du -sm /workspace | cut -f1`));
    const answers = Promise.all(Array.from({ length: 20 }, (_, i) => exec(c, `echo ${i} > /workspace/n${i} && cat /workspace/n${i}`)));
    const [wa, wb] = await Promise.all(writers);
    for (const w of [wa!, wb!]) {
      assert.match(w.stdout, /Disk quota exceeded/, w.stdout);
      assert.ok(Number(w.stdout.trim().split("\n").pop()) <= 24, `du says ${w.stdout.trim().split("\n").pop()} MB under a 24 MB limit`);
    }
    const got = (await answers).map((r) => r.stdout);
    assert.deepEqual(got, got.map((_, i) => `${i}\n`));
    for (const id of [a, b, c]) await srv.api("DELETE", `/v1/sandboxes/${id}`);
  });

  it("keeps the limit across sleep and wake, a server restart, and an explicit change", async () => {
    const a = name("disk-keep");
    await srv.api("PUT", `/v1/sandboxes/${a}`, { limits: { diskMB: 24 } });
    await srv.api("POST", `/v1/sandboxes/${a}/sleep`, {});
    assert.match((await fill(a, 40)).stdout, /Disk quota exceeded/, "after a wake");
    await exec(a, "rm -f /workspace/big");
    await srv.stop();
    await srv.restart();
    assert.equal((await (await srv.api("GET", `/v1/sandboxes/${a}`)).json()).limits.diskMB, 24);
    assert.match((await fill(a, 40)).stdout, /Disk quota exceeded/, "after a restart (re-attached)");
    await exec(a, "rm -f /workspace/big");
    await srv.api("POST", `/v1/sandboxes/${a}/sleep`, {});
    assert.match((await fill(a, 40)).stdout, /Disk quota exceeded/, "after a restart and a wake");
    await exec(a, "rm -f /workspace/big");
    // A larger limit applies from the next start, as other limits do.
    await srv.api("PUT", `/v1/sandboxes/${a}`, { limits: { diskMB: 60 } });
    await srv.api("POST", `/v1/sandboxes/${a}/sleep`, {});
    assert.match((await fill(a, 40)).stdout, /exit=0/);
    await srv.api("DELETE", `/v1/sandboxes/${a}`);
  });

  it("snapshots and forks: layers do not count against the sandbox, forks get limits of their own", async () => {
    const a = name("disk-snap");
    await srv.api("PUT", `/v1/sandboxes/${a}`, { limits: { diskMB: 32 } });
    assert.match((await fill(a, 20, "/workspace/data")).stdout, /exit=0/);
    // From a running sandbox: the upper layer is copied into the layer store.
    const s1 = await srv.api("POST", `/v1/sandboxes/${a}/snapshots`, {});
    assert.equal(s1.status, 201, await s1.clone().text());
    // From a sleeping one: its upper layer is given up (cloned out of its subvolume, then removed), so its quota empties.
    await srv.api("POST", `/v1/sandboxes/${a}/sleep`, {});
    const s2 = await srv.api("POST", `/v1/sandboxes/${a}/snapshots`, {});
    assert.equal(s2.status, 201, await s2.clone().text());
    const snap = (await s2.json()).id as string;
    sh("sync", []);
    const used = Number(sh(helper, ["usage", join(data, "sandboxes", a)]));
    assert.ok(used < 4 * 1024 * 1024, `the sandbox's subvolume still holds ${used} bytes after its layer was taken`);
    assert.equal(Number((await exec(a, "stat -c %s /workspace/data")).stdout), 20 * 1024 * 1024, "the file is still there, in the layer below");
    // Its own limit now covers only what it writes from here on.
    assert.match((await fill(a, 25)).stdout, /exit=0/);
    assert.match((await fill(a, 40, "/workspace/more")).stdout, /Disk quota exceeded/);
    const fork = name("disk-fork");
    const f = await srv.api("POST", `/v1/snapshots/${snap}/fork`, { names: [fork] });
    assert.equal(f.status, 201, await f.clone().text());
    assert.equal((await (await srv.api("GET", `/v1/sandboxes/${fork}`)).json()).limits.diskMB, 64);
    assert.equal(Number((await exec(fork, "stat -c %s /workspace/data")).stdout), 20 * 1024 * 1024);
    assert.match((await fill(fork, 50)).stdout, /exit=0/);
    assert.match((await fill(fork, 30, "/workspace/more")).stdout, /Disk quota exceeded/);
    await srv.api("DELETE", `/v1/sandboxes/${fork}`);
    await srv.api("DELETE", `/v1/sandboxes/${a}`);
  });

  it("frees a sandbox's quota group when it is destroyed", async () => {
    const a = name("disk-gone");
    await srv.api("PUT", `/v1/sandboxes/${a}`, { limits: { diskMB: 20 } });
    const id = subvolId(a);
    assert.match(qgroups(), new RegExp(`^0/${id}\\s`, "m"));
    assert.equal((await srv.api("DELETE", `/v1/sandboxes/${a}`)).status, 200);
    assert.ok(!existsSync(join(data, "sandboxes", a)));
    // The kernel drops a deleted subvolume in the background, and its quota group with it.
    sh("btrfs", ["filesystem", "sync", mnt]);
    sh("btrfs", ["subvolume", "sync", mnt]);
    assert.doesNotMatch(qgroups(), new RegExp(`^0/${id}\\s`, "m"));
  });

  it("--data-volume puts a fresh data directory on a btrfs image with quotas on, and mounts it again at the next start", async () => {
    // An empty data directory of the test's own, so the volume and its image are found and removed whatever happens.
    const dir = mkdtempSync(join(tmpdir(), "burrow-vol-"));
    const image = `${dir}.img`;
    let own: TestServer | undefined;
    try {
      own = await startTestServer({ dataDir: dir, args: ["--data-volume", "1G", "--default-disk-mb", "32"], env: { BURROW_MIN_FREE_MB: "100" } });
      assert.ok(existsSync(image));
      assert.equal(statSync(image).mode & 0o777, 0o600);
      assert.equal((await (await own.api("GET", "/v1/status")).json()).diskLimits.enforced, true);
      const id = name("vol");
      await own.api("PUT", `/v1/sandboxes/${id}`, {});
      assert.match((await (await own.api("POST", `/v1/sandboxes/${id}/exec`, { command: "dd if=/dev/zero of=/workspace/f bs=1M count=40 2>&1" })).json()).stdout, /Disk quota exceeded/);
      await own.stop();
      await own.restart();
      assert.equal((await (await own.api("GET", `/v1/sandboxes/${id}`)).json()).limits.diskMB, 32);
      assert.equal((await (await own.api("GET", "/v1/status")).json()).diskLimits.enforced, true);
    } finally {
      // cleanup unmounts everything under the data directory and the binds on it; then the volume itself, its directory and its image.
      await own?.cleanup();
      while (readFileSync("/proc/self/mountinfo", "utf8").includes(` ${dir} `)) if (spawnSync("umount", ["-l", dir]).status !== 0) break;
      rmSync(dir, { recursive: true, force: true });
      rmSync(image, { force: true });
    }
  });
});
