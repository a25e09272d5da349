import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** Start `burrow serve` on `data`; it must stop at once with exit code 1 and one line matching `message`. */
function refused(data: string, message: RegExp, env: Record<string, string> = {}): void {
  const r = spawnSync(process.execPath, [join(ROOT, "dist/cli.js"), "serve", "--port", "0", "--data", data], {
    env: { ...process.env, BURROW_POOL: "0", BURROW_TOKEN: "x", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 1, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one sentence: ${r.stderr}`);
  assert.match(lines[0]!, message);
}

describe("data directory checks at start", () => {
  let scratch: string;
  before(() => {
    // mkdtemp makes 0700 directories: the scratch root itself must let sandboxes through for the cases that test one thing each.
    scratch = mkdtempSync(join(tmpdir(), "burrow-datadir-"));
    chmodSync(scratch, 0o755);
  });
  after(() => {
    for (const m of ["overlay/m", "small"]) spawnSync("umount", ["-l", join(scratch, m)]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it("refuses a data directory under a parent sandboxes cannot enter, naming it and the fix", () => {
    const parent = join(scratch, "private");
    mkdirSync(parent, { mode: 0o700 });
    refused(join(parent, "data"), new RegExp(`^burrow: ${parent}, a parent of the data directory .* \\(mode 0700\\) cannot be entered by sandboxes .*chmod o\\+x ${parent}`));
  });

  it("refuses a parent other users may write without the sticky bit", () => {
    const parent = join(scratch, "open");
    mkdirSync(parent);
    chmodSync(parent, 0o777);
    refused(join(parent, "data"), /is writable by other users \(mode 0777\) without the sticky bit.*chmod go-w/);
  });

  it("refuses a parent that belongs to another user", () => {
    const parent = join(scratch, "theirs");
    mkdirSync(parent, { mode: 0o755 });
    chownSync(parent, 1234, 1234);
    refused(join(parent, "data"), /belongs to uid 1234/);
  });

  it("refuses a filesystem with too little free space", () => {
    const small = join(scratch, "small");
    mkdirSync(small);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", small]);
    refused(join(small, "data"), /has 1[0-9] MB free, under the 512 MB the server needs/);
    refused(join(small, "data"), /BURROW_MIN_FREE_MB is "lots"/, { BURROW_MIN_FREE_MB: "lots" });
  });

  it("refuses a filesystem that cannot hold overlay upper layers", () => {
    // An overlay cannot be the upper layer of another overlay.
    const o = join(scratch, "overlay");
    for (const d of ["l", "u", "w", "m"]) mkdirSync(join(o, d), { recursive: true });
    execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${o}/l,upperdir=${o}/u,workdir=${o}/w`, `${o}/m`]);
    refused(join(o, "m", "data"), /cannot hold overlay upper layers, which every sandbox's disk is .*ext4, xfs or btrfs/);
  });
});
