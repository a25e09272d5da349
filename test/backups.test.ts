import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

describe("backups", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.cleanup());

  const tree = `set -e; mkdir -p /work/proj/src/deep/er /work/proj/empty /work/proj/node_modules/pkg
    echo hello > /work/proj/src/a.txt; echo deep > /work/proj/src/deep/er/b.txt
    printf 'x' > '/work/proj/ünïcødé 名前.txt'; chmod 750 /work/proj/src/deep; chmod 600 /work/proj/src/a.txt
    ln -s src/a.txt /work/proj/link; echo dep > /work/proj/node_modules/pkg/index.js
    printf 'dist/\\n*.log\\n' > /work/proj/.gitignore; mkdir -p /work/proj/dist; echo built > /work/proj/dist/out.js; echo l > /work/proj/x.log`;
  const describeTree = "cd /work/proj && find . -printf '%p %y %m %l\\n' | LC_ALL=C sort";

  it("round-trips nested trees, empty dirs, symlinks, modes and unicode names, to the same or another path", async () => {
    const sbx = srv.burrow.sandbox(name("bk"));
    await sbx.exec(tree);
    const before = (await sbx.exec(describeTree)).stdout;
    const b = await sbx.createBackup({ dir: "/work/proj", name: "proj" });
    assert.match(b.id, /^bak-[a-f0-9]{16}$/);
    assert.equal(b.dir, "/work/proj");
    assert.equal(b.name, "proj");
    assert.ok(b.files >= 6 && b.sizeBytes > 0);
    await sbx.exec("rm -rf /work/proj && mkdir /work/proj && echo junk > /work/proj/junk");
    const r = await sbx.restoreBackup(b);
    assert.equal(r.dir, "/work/proj");
    assert.equal((await sbx.exec(describeTree)).stdout, before);
    assert.equal((await sbx.exec("cat /work/proj/link '/work/proj/ünïcødé 名前.txt'")).stdout, "hello\nx");
    // Another path, another sandbox.
    const other = srv.burrow.sandbox(name("bk-other"));
    await other.restoreBackup(b.id, { dir: "/srv/copy" });
    assert.equal((await other.exec("cat /srv/copy/src/deep/er/b.txt; stat -c %a /srv/copy/src/deep")).stdout, "deep\n750\n");
    // Writing after a restore does not change the backup.
    await other.writeFile("/srv/copy/src/a.txt", "changed");
    await other.restoreBackup(b.id, { dir: "/srv/again" });
    assert.equal((await other.readFile("/srv/again/src/a.txt")).content, "hello\n");
  });

  it("leaves out excluded and gitignored paths", async () => {
    const sbx = srv.burrow.sandbox(name("bk-ex"));
    await sbx.exec(tree);
    const b = await sbx.createBackup({ dir: "/work/proj", excludes: ["node_modules"], gitignore: true });
    await sbx.restoreBackup(b, { dir: "/work/restored" });
    const ls = (await sbx.exec("cd /work/restored && find . | LC_ALL=C sort")).stdout;
    assert.doesNotMatch(ls, /node_modules|dist|x\.log/);
    assert.match(ls, /src\/deep\/er\/b\.txt/);
    assert.match(ls, /\.gitignore/);
  });

  it("concurrent backups of a changing directory do not corrupt each other", async () => {
    const sbx = srv.burrow.sandbox(name("bk-par"));
    await sbx.exec("for i in 1 2 3 4; do mkdir -p /d$i && head -c 300000 /dev/urandom > /d$i/blob && sha256sum /d$i/blob | cut -c1-64 > /d$i.sum; done");
    const backups = await Promise.all([1, 2, 3, 4].map((i) => sbx.createBackup({ dir: `/d${i}` })));
    await Promise.all(backups.map((b, i) => sbx.restoreBackup(b, { dir: `/r${i + 1}` })));
    const r = await sbx.exec("for i in 1 2 3 4; do [ \"$(sha256sum /r$i/blob | cut -c1-64)\" = \"$(cat /d$i.sum)\" ] || echo bad $i; done; echo checked");
    assert.equal(r.stdout, "checked\n");
  });

  it("refuses unknown, expired and escaping requests, and a failed restore changes nothing", async () => {
    const sbx = srv.burrow.sandbox(name("bk-bad"));
    await sbx.exec("mkdir -p /keep && echo safe > /keep/f");
    const unknown = await srv.api("POST", `/v1/sandboxes/${sbx.id}/backups/bak-0000000000000000/restore`, {});
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).code, "BACKUP_NOT_FOUND");
    assert.equal((await srv.api("POST", `/v1/sandboxes/${sbx.id}/backups/nope/restore`, {})).status, 400);
    for (const dir of ["relative/dir", "/work/../../etc", "/"]) {
      const r = await srv.api("POST", `/v1/sandboxes/${sbx.id}/backups`, { dir });
      assert.equal(r.status, 400, dir);
      assert.equal((await r.json()).code, "INVALID_PATH");
    }
    const missing = await srv.api("POST", `/v1/sandboxes/${sbx.id}/backups`, { dir: "/no/such/dir" });
    assert.equal(missing.status, 404);
    const b = await sbx.createBackup({ dir: "/keep", ttl: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await srv.api("POST", `/v1/sandboxes/${sbx.id}/backups/${b.id}/restore`, {});
    assert.equal(expired.status, 410);
    assert.equal((await expired.json()).code, "BACKUP_EXPIRED");
    // A backup whose archive is damaged in the store is refused before anything is written.
    const good = await sbx.createBackup({ dir: "/keep" });
    const { writeFileSync } = await import("node:fs");
    writeFileSync(`${srv.dataDir}/blobs/backups/${good.id}.tar.gz`, "not a gzip");
    await sbx.writeFile("/keep/f", "newer");
    const corrupt = await srv.api("POST", `/v1/sandboxes/${sbx.id}/backups/${good.id}/restore`, {});
    assert.equal(corrupt.status, 422);
    assert.equal((await corrupt.json()).code, "ARCHIVE_CORRUPT");
    assert.equal((await sbx.exec("cat /keep/f; ls -a / | grep -c restore || true")).stdout, "newer0\n");
  });
});
