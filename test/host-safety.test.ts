import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { pack } from "tar-stream";
import { ImageStore } from "../src/images/index.js";
import { defaultCacheDir } from "../src/server/index.js";
import { hostCanary } from "./helpers/canary.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/*
 * Each attack of the host-side security probe, tried again: the host canary
 * (files outside every data directory) must be untouched, and the attack
 * refused or kept inside the sandbox.
 */

const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8" });

describe("the server never reaches the host through a sandbox's files", () => {
  let srv: TestServer;
  let canary: ReturnType<typeof hostCanary>;
  const blobs = mkdtempSync(join(tmpdir(), "burrow-hs-blobs-"));
  const keyFile = join(blobs, "..", `burrow-hs-${randomBytes(4).toString("hex")}.key`);
  const key = randomBytes(32);
  before(async () => {
    writeFileSync(keyFile, key, { mode: 0o600 });
    canary = hostCanary();
    srv = await startTestServer({ env: { BURROW_SNAPSHOT_MAX_DEPTH: "2", BURROW_BLOBS: blobs, BURROW_BLOB_SIGNING_KEY_FILE: keyFile } });
  });
  after(async () => {
    await srv.cleanup();
    canary.remove();
    rmSync(blobs, { recursive: true, force: true });
    rmSync(keyFile, { force: true });
  });

  for (const variant of ["snapshots", "persist-snapshot"] as const)
    it(`flattening a chain does not follow a link at a mis-decoded name (${variant})`, async () => {
      const id = name("flat");
      const sbx = srv.burrow.sandbox(id, variant === "persist-snapshot" ? { persist: "snapshot" } : {});
      // The link points at the host canary; the second variant uses a relative link that climbs out.
      const target = variant === "snapshots" ? canary.dir : `../../../../../../../../..${canary.dir}`;
      await sbx.exec(`mkdir -p /workspace/X$'\\xff'/subdir && echo x > /workspace/X$'\\xff'/victim && ln -s '${target}' /workspace/X$'\\xef\\xbf\\xbd'`);
      const freeze = async () => {
        if (variant === "snapshots") {
          await sbx.sleep();
          return sbx.snapshot();
        }
        return sbx.sleep();
      };
      await freeze();
      await sbx.exec(`rm /workspace/X$'\\xff'/victim && rm -rf /workspace/X$'\\xff'/subdir && mkdir /workspace/X$'\\xff'/subdir && touch /workspace/X$'\\xff'/subdir/new`);
      // Depth 2 is the limit here: the third freeze flattens the chain.
      for (let i = 0; i < 3; i++) {
        await freeze();
        await sbx.exec(`touch /workspace/round-${i}`);
      }
      // Four freezes with a depth limit of 2: the sandbox stands on a chain that was flattened on the way.
      const base = await srv.burrow.getSnapshot((await sbx.info()).baseSnapshot!);
      assert.ok(base.depth <= 2, `depth ${base.depth}`);
      canary.intact();
      // What the sandbox sees is what it wrote: the whiteout and the opaque directory kept their meaning.
      const r = await sbx.exec(`ls -A /workspace/X$'\\xff'; ls -A /workspace/X$'\\xff'/subdir; readlink /workspace/X$'\\xef\\xbf\\xbd'`);
      assert.equal(r.stdout, `subdir\nnew\n${target}\n`);
    });

  it("a sandbox cannot replace the runtime socket or anything else in /.burrow/run", async () => {
    const a = srv.burrow.sandbox(name("sock-a"));
    const b = srv.burrow.sandbox(name("sock-b"));
    await b.writeFile("/workspace/whoami", "b");
    await a.writeFile("/workspace/whoami", "a");
    const mountinfo = (await a.exec("cat /proc/self/mountinfo")).stdout;
    const attempts = await a.exec(
      [
        `ln -s ${srv.dataDir}/sandboxes/${b.id}/run/runtime.sock /tmp/x; mv -f /tmp/x /.burrow/run/runtime.sock && echo replaced`,
        "rm -f /.burrow/run/runtime.sock && echo removed",
        "touch /.burrow/run/new && echo created",
        "chmod 777 /.burrow/run && echo chmodded",
        "rm -f /.burrow/run/egress.sock && echo egress-removed",
      ].join("; "),
    );
    assert.equal(attempts.stdout, "", `an attempt went through: ${attempts.stdout}`);
    for (let i = 0; i < 10; i++) assert.equal((await a.readFile("/workspace/whoami")).content, "a");
    const del = await srv.api("DELETE", `/v1/sandboxes/${a.id}/files?path=${encodeURIComponent("/.burrow/run/runtime.sock")}`);
    assert.equal(del.status, 403);
    assert.equal((await del.json()).code, "PERMISSION_DENIED");
    assert.equal((await a.exec("echo alive")).stdout, "alive\n");
    // What a sandbox can read about its mounts names no host path: not the data directory, not the cache.
    // The root's layers reach overlayfs as detached (idmapped) mounts, which show as "/".
    assert.match(mountinfo, /lowerdir\+=\/,upperdir=\/upper,workdir=\/work/);
    for (const hostPath of [srv.dataDir, defaultCacheDir(), "/tmp/", "/var/"]) assert.ok(!mountinfo.includes(hostPath), `mountinfo shows ${hostPath}:\n${mountinfo}`);
  });

  it("the runtime starts from its startup snapshot, and no file of Burrow's a sandbox can read names a host path", async () => {
    const sbx = srv.burrow.sandbox(name("startup"));
    const cmdlines = await sbx.exec("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done");
    assert.match(cmdlines.stdout, /--snapshot-blob \/\.burrow\/runtime\/runtime\.blob \/\.burrow\/runtime\/runtime\.js/);
    const files = (await sbx.exec("ls /.burrow/runtime")).stdout.split("\n");
    for (const f of ["runtime.blob", "main.js.cache"]) assert.ok(files.includes(f), `no ${f} in /.burrow/runtime: ${files.join(" ")}`);
    // The snapshot and the code cache record the paths they were built at: the sandbox's own /.burrow, nothing of the host.
    const hits = await sbx.exec(["grep", "-r", "-a", "-l", "-F", "-e", defaultCacheDir(), "-e", srv.dataDir, "-e", "/root/", "-e", ".tmp-", "/.burrow/runtime"]);
    assert.equal(hits.stdout, "", `host paths in: ${hits.stdout}`);
    assert.equal(hits.exitCode, 1, hits.stderr);
    assert.match((await sbx.exec(["grep", "-a", "-c", "-F", "/.burrow/runtime/startup-snapshot.js", "/.burrow/runtime/runtime.blob"])).stdout, /^[1-9]/);
  });

  it("the data directory is nosuid,nodev and a sandbox's tree is closed to other host users", async () => {
    const sbx = srv.burrow.sandbox(name("suid"));
    await sbx.exec("cp /usr/bin/id /workspace/id && chmod u+s /workspace/id");
    const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === srv.dataDir);
    assert.ok(line, "the data directory is a mount of its own");
    assert.match(line!.split(" ")[5]!, /nosuid/);
    assert.match(line!.split(" ")[5]!, /nodev/);
    const dir = join(srv.dataDir, "sandboxes", sbx.id);
    assert.equal(statSync(dir).mode & 0o777, 0o710);
    const asNobody = spawnSync("su", ["-s", "/bin/sh", "nobody", "-c", `${join(dir, "upper", "workspace", "id")} -u`], { encoding: "utf8" });
    assert.notEqual(asNobody.status, 0, "nobody reached the sandbox's upper layer");
    // Even for a user who can reach it, the setuid bit means nothing on the host.
    const copy = join(srv.dataDir, "suid-probe");
    execFileSync("cp", ["-a", join(dir, "upper", "workspace", "id"), copy]);
    chmodSync(srv.dataDir, 0o711);
    const run = spawnSync("su", ["-s", "/bin/sh", "nobody", "-c", `${copy} -u`], { encoding: "utf8" });
    rmSync(copy);
    assert.equal(run.stdout.trim(), "65534", `setuid took effect: ${run.stdout}${run.stderr}`);
  });

  it("trees deeper than PATH_MAX: snapshot, sleep, destroy and a restart all work", async () => {
    const sbx = srv.burrow.sandbox(name("deep"));
    const seg = "d".repeat(100);
    const r = await sbx.exec(`cd /workspace && for i in $(seq 60); do mkdir ${seg} && cd ${seg}; done && echo bottom > f && pwd | wc -c`);
    assert.ok(Number(r.stdout) > 4096, `the tree is ${r.stdout.trim()} bytes deep`);
    const snap = await sbx.snapshot();
    const [fork] = await srv.burrow.fork(snap, name("deep-fork"));
    assert.equal((await fork!.exec(`cd /workspace && for i in $(seq 60); do cd ${seg}; done && cat f`)).stdout, "bottom\n");
    await sbx.sleep();
    await sbx.snapshot();
    await fork!.destroy();
    await sbx.destroy();
    assert.equal(existsSync(join(srv.dataDir, "sandboxes", sbx.id)), false);
    await srv.stop();
    await srv.restart();
    assert.equal((await srv.api("GET", "/healthz")).status, 200);
    assert.deepEqual(sh(`ls -A ${srv.dataDir}/layers | grep '^.tmp-' || true`), "");
  });

  describe("pulled snapshots", () => {
    const digest = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
    const canonical = (m: Record<string, unknown>) => JSON.stringify(m);

    /** Put a layer archive and its manifest in the blob store, as another server (or an attacker) would. */
    function plant(sid: string, layerDir: string, opts: { sign?: boolean; tamper?: (m: Record<string, unknown>) => void } = {}): void {
      const archive = join(blobs, "tmp.tar.zst");
      mkdirSync(join(blobs, "layers"), { recursive: true });
      mkdirSync(join(blobs, "snapshots"), { recursive: true });
      execFileSync("tar", ["--zstd", "--sparse", "--xattrs", "--numeric-owner", "-C", layerDir, "-cf", archive, "."]);
      const d = digest(archive);
      execFileSync("mv", [archive, join(blobs, "layers", `sha256-${d}.tar.zst`)]);
      const m: Record<string, unknown> = {
        id: sid, sandboxId: "elsewhere", image: "default", kind: "user", parents: [], sizeBytes: 1,
        createdAt: new Date().toISOString(), archive: { digest: d, sizeBytes: statSync(join(blobs, "layers", `sha256-${d}.tar.zst`)).size, pushedAt: new Date().toISOString() },
      };
      opts.tamper?.(m);
      if (opts.sign) m.signature = createHmac("sha256", key).update(canonical(m)).digest("hex");
      writeFileSync(join(blobs, "snapshots", `${sid}.json`), JSON.stringify(m));
    }
    const sid = () => `snap-${randomBytes(6).toString("hex")}`;
    const layer = () => {
      const d = mkdtempSync(join(tmpdir(), "burrow-hs-layer-"));
      mkdirSync(join(d, "workspace"));
      chownSync(d, 100000, 100000);
      writeFileSync(join(d, "workspace", "hello"), "from elsewhere\n");
      return d;
    };
    const pull = (id: string) => srv.api("POST", `/v1/snapshots/${id}/pull`);

    it("refuses manifests that are malformed, traverse, or were not pushed here and are unsigned", async () => {
      const l = layer();
      const cases: [string, (m: Record<string, unknown>) => void, boolean, string][] = [
        ["id traversal", (m) => (m.id = "../../../etc"), true, "MANIFEST_INVALID"],
        ["parent traversal", (m) => (m.parents = ["../../../../etc"]), true, "MANIFEST_INVALID"],
        ["unknown kind", (m) => (m.kind = "root"), true, "MANIFEST_INVALID"],
        ["negative size", (m) => (m.sizeBytes = -1), true, "MANIFEST_INVALID"],
        ["unsigned", () => {}, false, "MANIFEST_UNTRUSTED"],
        ["bad signature", (m) => (m.signature = "0".repeat(64)), false, "MANIFEST_UNTRUSTED"],
      ];
      for (const [what, tamper, sign, code] of cases) {
        const id = sid();
        plant(id, l, { sign, tamper });
        const r = await pull(id);
        const body = await r.json();
        assert.equal(r.status, 422, `${what}: ${JSON.stringify(body)}`);
        assert.equal(body.code, code, what);
        assert.equal((await srv.api("GET", `/v1/snapshots/${id}`)).status, 404, what);
        assert.equal(existsSync(join(srv.dataDir, "layers", id)), false, what);
      }
      canary.intact();
      rmSync(l, { recursive: true, force: true });
    });

    it("normalises what it unpacks: owners shifted, setuid and capabilities dropped, devices refused, holes kept", async () => {
      const l = layer();
      writeFileSync(join(l, "workspace", "suid"), "#!/bin/sh\n");
      chownSync(join(l, "workspace", "suid"), 0, 0);
      chmodSync(join(l, "workspace", "suid"), 0o4755);
      writeFileSync(join(l, "workspace", "capped"), "x");
      execFileSync("setcap", ["cap_net_raw+ep", join(l, "workspace", "capped")], { stdio: "ignore" });
      execFileSync("truncate", ["-s", "4G", join(l, "workspace", "sparse")]);
      const good = sid();
      plant(good, l, { sign: true });
      const r = await pull(good);
      assert.equal(r.status, 200, await r.clone().text());
      const onHost = join(srv.dataDir, "layers", good, "workspace");
      assert.equal(statSync(join(onHost, "suid")).uid, 100000, "uid 0 in the archive is the sandbox's root, not the host's");
      assert.equal(statSync(join(onHost, "suid")).mode & 0o7777, 0o755);
      assert.equal(sh(`getcap ${join(onHost, "capped")}`).trim(), "");
      assert.ok(Number(sh(`du -k ${join(onHost, "sparse")} | cut -f1`)) < 1024, "the sparse file stayed sparse");
      const [fork] = await srv.burrow.fork(good, name("pulled"));
      assert.equal((await fork!.exec("cat /workspace/hello; stat -c '%u %a' /workspace/suid")).stdout, "from elsewhere\n0 755\n");

      execFileSync("mknod", [join(l, "workspace", "disk"), "b", "8", "0"]);
      const bad = sid();
      plant(bad, l, { sign: true });
      const refused = await pull(bad);
      const body = await refused.json();
      assert.equal(refused.status, 422);
      assert.equal(body.code, "ARCHIVE_CORRUPT");
      assert.match(body.message, /device node/);
      assert.equal(existsSync(join(srv.dataDir, "layers", bad)), false);
      assert.equal(sh(`ls -A ${srv.dataDir}/layers | grep '^.tmp-' || true`), "");
      rmSync(l, { recursive: true, force: true });
    });
  });
});

describe("image import never writes outside the image", () => {
  let canary: ReturnType<typeof hostCanary>;
  let work: string;
  let images: ImageStore;
  before(() => {
    canary = hostCanary();
    work = mkdtempSync(join(tmpdir(), "burrow-hs-img-"));
    images = new ImageStore(join(work, "cache"));
  });
  after(() => {
    canary.remove();
    rmSync(work, { recursive: true, force: true });
  });

  /** A layer tar with entries in the given order (tar-stream writes exactly what it is told). */
  async function layerTar(file: string, entries: { name: string; type?: "symlink" | "directory" | "file"; linkname?: string; body?: string }[]): Promise<void> {
    const p = pack();
    const out = pipeline(p, createWriteStream(file));
    for (const e of entries) p.entry({ name: e.name, type: e.type ?? "file", linkname: e.linkname, mode: e.type === "directory" ? 0o755 : 0o644 }, e.body ?? "");
    p.finalize();
    await out;
  }

  it("links from earlier layers are not followed, whiteouts do not pass through links, and Layers cannot leave the archive", async () => {
    const dir = join(work, "evil");
    mkdirSync(dir);
    await layerTar(join(dir, "l1.tar"), [
      { name: "evil", type: "symlink", linkname: canary.dir },
      { name: "up", type: "symlink", linkname: "../../../../../../../../.." + canary.dir },
    ]);
    await layerTar(join(dir, "l2.tar"), [
      { name: "evil/FILE", body: "written through a link" },
      { name: "evil/.wh.victim" },
      { name: "up/.wh.subdir" },
      { name: "etc/hostname", body: "image\n" },
    ]);
    writeFileSync(join(dir, "manifest.json"), JSON.stringify([{ Config: "c.json", Layers: ["l1.tar", "l2.tar"] }]));
    await images.import("evil", dir);
    canary.intact();
    const root = images.rootfs("evil");
    assert.equal(readFileSync(join(root, "evil", "FILE"), "utf8"), "written through a link", "the layer's directory replaced the link, as overlay would");
    assert.equal(readFileSync(join(root, "etc", "hostname"), "utf8"), "image\n");

    for (const bad of ["../../../../../../etc/passwd", "/etc/passwd", "l1.tar/../../x"]) {
      const d = join(work, `bad-${createHash("md5").update(bad).digest("hex").slice(0, 6)}`);
      mkdirSync(d);
      await layerTar(join(d, "l1.tar"), [{ name: "ok", body: "x" }]);
      writeFileSync(join(d, "manifest.json"), JSON.stringify([{ Layers: [bad] }]));
      await assert.rejects(images.import(`bad-${d.slice(-6)}`, d), /does not name a file inside the archive|not in the archive/);
    }
    canary.intact();
  });
});

describe("backup restore stays inside the directory it restores", () => {
  it("refuses entries under a link and never writes through one", async () => {
    const { unpackDirectory } = await import("../src/runtime/backup.js");
    const { createGzip } = await import("node:zlib");
    const canary = hostCanary();
    const work = mkdtempSync(join(tmpdir(), "burrow-hs-bk-"));
    try {
      for (const entries of [
        [{ name: "lnk", type: "symlink" as const, linkname: canary.dir }, { name: "lnk/FILE", body: "escaped" }],
        [{ name: "motd", type: "symlink" as const, linkname: canary.file }, { name: "motd", body: "overwritten" }],
      ]) {
        const p = pack();
        for (const e of entries) p.entry({ name: e.name, type: e.type ?? "file", linkname: "linkname" in e ? e.linkname : undefined, mode: 0o644 }, ("body" in e ? e.body : "") ?? "");
        p.finalize();
        const target = join(work, `restored-${entries[0]!.name}`);
        const result = await unpackDirectory(target, p.pipe(createGzip())).then(
          () => "restored",
          (err: Error & { code?: string }) => err.code,
        );
        canary.intact();
        if (result === "restored") {
          // A later entry of the same name replaces the link itself, never what it points at.
          assert.equal(readFileSync(join(target, "motd"), "utf8"), "overwritten");
        } else assert.equal(result, "ARCHIVE_CORRUPT");
      }
    } finally {
      canary.remove();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
