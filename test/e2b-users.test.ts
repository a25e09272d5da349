import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Sandbox } from "e2b";
import { name, type TestServer } from "./helpers/server.js";
import { e2bServer as server } from "./helpers/e2b.js";

/** E2B's default user: in Burrow's default image from the start, made in-process where an image lacks it. */
describe("E2B's user `user` on Burrow", () => {
  let srv: TestServer;
  let fresh: Sandbox;
  before(async () => {
    srv = await server();
    fresh = await Sandbox.create("base");
  });
  after(async () => {
    await fresh?.kill().catch(() => {});
  });

  it("finds `user` in the default image, and makes it in a sandbox without it; either way it gets the untouched /workspace", async () => {
    const owner = "stat -c '%U %a' /workspace";
    assert.equal((await fresh.commands.run(owner)).stdout, "user 755\n");
    // A Burrow sandbox whose image has no `user` (here: the account removed), touched through E2B for the first time.
    const own = srv.burrow.sandbox(name("nouser"));
    try {
      assert.equal((await own.exec("userdel -r user && ! id user 2>/dev/null && " + owner)).stdout, "root 755\n");
      const conn = await Sandbox.connect(own.id);
      const r = await conn.commands.run(`whoami; echo $HOME; ${owner}; id -u`);
      assert.equal(r.stdout, "user\n/home/user\nuser 755\n1000\n");
      assert.equal((await conn.commands.run("cmp /etc/skel/.bashrc /home/user/.bashrc && grep -c '^user:' /etc/passwd /etc/group /etc/shadow", { user: "root" })).stdout, "/etc/passwd:1\n/etc/group:1\n/etc/shadow:1\n");
      // A workspace with something in it stays its owner's.
      const busy = srv.burrow.sandbox(name("busy"));
      try {
        await busy.exec("userdel -r user && touch /workspace/mine");
        const c2 = await Sandbox.connect(busy.id);
        assert.equal((await c2.commands.run(owner)).stdout, "root 755\n");
      } finally {
        await busy.destroy();
      }
    } finally {
      await own.destroy();
    }
  });
});
