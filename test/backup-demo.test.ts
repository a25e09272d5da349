import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { backupDemo } from "../examples/backup-demo.js";
import { startJsDemo } from "./helpers/js-demo.js";
import { name, type TestServer } from "./helpers/server.js";

describe("the backup demo (examples/backup-demo.ts), with a small dependency set", () => {
  let srv: TestServer;
  let repoUrl: string;
  let cleanup: (() => Promise<void>) | undefined;

  before(async () => {
    ({ srv, repoUrl, cleanup } = await startJsDemo());
  });
  after(async () => {
    await cleanup?.();
  });

  it("installs from scratch, restores from a backup and from a snapshot, and times the three", { timeout: 240_000 }, async () => {
    const lines: string[] = [];
    const r = await backupDemo(srv.burrow, { repoUrl, prefix: name("bk"), log: (l) => lines.push(l) });
    assert.match(r.restoredDeps, /ms@2\.1\.3/);
    assert.match(r.forkedDeps, /ms@2\.1\.3/);
    assert.ok(r.installSeconds > 0 && r.restoreSeconds > 0 && r.forkMs > 0);
    assert.match(lines.at(-1)!, /^install from scratch: [\d.]+ s; restore from backup: [\d.]+ s \(backup took [\d.]+ s\); from snapshot: \d+ ms$/);
    assert.deepEqual(await srv.burrow.list(), [], "the demo leaves no sandbox behind");
  });
});
