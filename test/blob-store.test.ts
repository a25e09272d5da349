import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { freePort, name, startTestServer, type TestServer } from "./helpers/server.js";

/** A snapshot with a parent, pushed from one server and used on another that never had it. */
async function roundTrip(a: TestServer, b: TestServer): Promise<void> {
  const origin = a.burrow.sandbox(name("src"));
  await origin.exec("mkdir -p /workspace/app && head -c 2000000 /dev/urandom > /workspace/app/blob && sha256sum /workspace/app/blob > /workspace/sum && rm /etc/issue");
  const base = await origin.snapshot();
  const [fork] = await a.burrow.fork(base, name("mid"));
  await fork!.writeFile("/workspace/app/later.txt", "on top\n");
  const top = await fork!.snapshot();
  assert.equal(top.parent, base.id);
  // Progress arrives as NDJSON lines, then the result.
  const res = await fetch(`${a.url}/v1/snapshots/${top.id}/push`, { method: "POST", headers: { authorization: `Bearer ${a.token}`, accept: "application/x-ndjson" } });
  const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
  const done = lines.at(-1);
  assert.equal(done.type, "done", JSON.stringify(done));
  assert.match(done.snapshot.archive.digest, /^[a-f0-9]{64}$/);
  assert.ok(lines.some((l) => l.type === "progress" && l.phase === "upload"));
  assert.ok((await a.burrow.getSnapshot(base.id)).archive, "the parent was pushed too");

  const restored = (await b.api("PUT", `/v1/sandboxes/${name("there")}`, { fromSnapshot: top.id }));
  assert.equal(restored.status, 201, await restored.clone().text());
  const there = b.burrow.sandbox((await restored.json()).id);
  const r = await there.exec("sha256sum -c /workspace/sum >/dev/null && echo intact; cat /workspace/app/later.txt; test -e /etc/issue || echo deleted");
  assert.equal(r.stdout, "intact\non top\ndeleted\n");
  assert.equal((await b.burrow.getSnapshot(top.id)).parent, base.id);
}

function signingKeyFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "burrow-key-")), "blob.key");
  writeFileSync(file, randomBytes(32), { mode: 0o600 });
  return file;
}

describe("blob store: local directory", () => {
  let a: TestServer;
  let b: TestServer;
  const blobs = mkdtempSync(join(tmpdir(), "burrow-blobs-"));
  // Servers that share a store share a signing key: a manifest one pushed is trusted by the other.
  const key = signingKeyFile();
  before(async () => {
    a = await startTestServer({ env: { BURROW_BLOBS: blobs, BURROW_BLOB_SIGNING_KEY_FILE: key } });
    b = await startTestServer({ env: { BURROW_BLOBS: blobs, BURROW_BLOB_SIGNING_KEY_FILE: key } });
  });
  after(async () => {
    await a.cleanup();
    await b.cleanup();
    rmSync(blobs, { recursive: true, force: true });
  });

  it("pushes a snapshot chain and restores it on a server that lacks it", () => roundTrip(a, b));

  it("the CLI snapshots, pushes with progress, pulls and forks", async () => {
    const { execFileSync } = await import("node:child_process");
    const cli = (srv: TestServer, ...args: string[]) =>
      execFileSync(process.execPath, [join(import.meta.dirname, "../dist/cli.js"), ...args], {
        env: { ...process.env, BURROW_URL: srv.url, BURROW_TOKEN: srv.token },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    const id = name("cli");
    await a.burrow.sandbox(id).writeFile("/workspace/from-cli", "yes");
    const sid = cli(a, "snapshot", id).trim();
    assert.match(sid, /^snap-[a-f0-9]{12}$/);
    cli(a, "snapshot", "push", sid);
    assert.match(cli(a, "snapshot", "ls"), new RegExp(`${sid}.*pushed`));
    cli(b, "snapshot", "pull", sid);
    const forks = cli(b, "fork", sid, "--count", "2").trim().split("\n");
    assert.equal(forks.length, 2);
    assert.equal((await b.burrow.sandbox(forks[1]!).readFile("/workspace/from-cli")).content, "yes");
  });

  it("refuses a corrupt or truncated archive and restores nothing", async () => {
    for (const damage of ["corrupt", "truncate"] as const) {
      const sbx = a.burrow.sandbox(name(damage));
      await sbx.exec("head -c 500000 /dev/urandom > /workspace/data");
      const snap = await a.burrow.pushSnapshot((await sbx.snapshot()).id);
      const file = join(blobs, "layers", `sha256-${snap.archive!.digest}.tar.zst`);
      if (damage === "truncate") truncateSync(file, Math.floor(statSync(file).size / 2));
      else writeFileSync(file, Buffer.alloc(statSync(file).size, 7));
      const r = await b.api("POST", `/v1/snapshots/${snap.id}/pull`);
      assert.equal(r.status, 422);
      const body = await r.json();
      assert.equal(body.code, "ARCHIVE_CORRUPT");
      assert.match(body.message, /corrupt or truncated/);
      assert.equal((await b.api("GET", `/v1/snapshots/${snap.id}`)).status, 404);
      assert.deepEqual(readdirSync(join(b.dataDir, "layers")).filter((n) => n.includes(snap.id)), []);
      const create = await b.api("PUT", `/v1/sandboxes/${name("nope")}`, { fromSnapshot: snap.id });
      assert.equal(create.status, 422);
    }
    const unknown = await b.api("POST", "/v1/snapshots/snap-0123456789ab/pull");
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).code, "SNAPSHOT_NOT_FOUND");
  });
});

describe("blob store: S3-compatible server", () => {
  let s3: S3rver;
  let a: TestServer;
  let b: TestServer;
  const dir = mkdtempSync(join(tmpdir(), "burrow-s3-"));
  before(async () => {
    const port = await freePort();
    s3 = new S3rver({ port, address: "127.0.0.1", directory: dir, silent: true, configureBuckets: [{ name: "burrow", configs: [] }] });
    await s3.run();
    const env = {
      BURROW_S3_BUCKET: "burrow",
      BURROW_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      BURROW_S3_PREFIX: "test/",
      BURROW_S3_ACCESS_KEY_ID: "S3RVER",
      BURROW_S3_SECRET_ACCESS_KEY: "S3RVER",
      BURROW_BLOB_SIGNING_KEY_FILE: signingKeyFile(),
    };
    a = await startTestServer({ env });
    b = await startTestServer({ env });
  });
  after(async () => {
    await a.cleanup();
    await b.cleanup();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("pushes a snapshot chain and restores it on a server that lacks it", () => roundTrip(a, b));

  it("keeps backups in the bucket", async () => {
    const sbx = a.burrow.sandbox(name("bk"));
    await sbx.exec("mkdir -p /data/x && head -c 100000 /dev/urandom > /data/x/r && md5sum /data/x/r > /sum");
    const bk = await sbx.createBackup({ dir: "/data" });
    await sbx.exec("rm -rf /data");
    await sbx.restoreBackup(bk);
    assert.equal((await sbx.exec("md5sum -c /sum >/dev/null && echo ok")).stdout, "ok\n");
  });
});
