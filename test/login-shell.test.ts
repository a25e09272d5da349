import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { speedUpLoginShells } from "../src/images/login-shell.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const PROFILE = `if [ "$(id -u)" -eq 0 ]; then\n  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\nfi\n`;
const ROOT_PROFILE = `if [ "$BASH" ]; then\n  :\nfi\n\nmesg n 2> /dev/null || true\n`;

describe("login shells in the default image", () => {
  it("edits Debian's login scripts in place, and nothing else", () => {
    const root = mkdtempSync(join(tmpdir(), "burrow-login-"));
    try {
      mkdirSync(join(root, "etc"));
      mkdirSync(join(root, "root"));
      writeFileSync(join(root, "etc/profile"), PROFILE, { mode: 0o644 });
      writeFileSync(join(root, "root/.profile"), ROOT_PROFILE);
      assert.deepEqual(speedUpLoginShells(root), ["etc/profile", "root/.profile"]);
      assert.match(readFileSync(join(root, "etc/profile"), "utf8"), /^if \[ "\$\{EUID:-\$\(id -u\)\}" -eq 0 \]; then\n/);
      assert.match(readFileSync(join(root, "root/.profile"), "utf8"), /\n\[ -t 0 \] && mesg n 2> \/dev\/null \|\| true\n$/);
      assert.deepEqual(speedUpLoginShells(root), [], "a second pass finds nothing to change");

      // A link is never written through; a file of another shape is left alone.
      rmSync(join(root, "etc/profile"));
      writeFileSync(join(root, "outside"), PROFILE);
      symlinkSync(join(root, "outside"), join(root, "etc/profile"));
      writeFileSync(join(root, "root/.profile"), "# someone else's\n");
      assert.deepEqual(speedUpLoginShells(root), []);
      assert.equal(readFileSync(join(root, "outside"), "utf8"), PROFILE);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  describe("in a sandbox", () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer();
    });
    after(() => srv.cleanup());

    it("starts no program of its own in bash, and still tells root apart in sh", async () => {
      const sbx = srv.burrow.sandbox(name("login"));
      // Stand-ins for id and mesg that note each call, first on the PATH the login scripts start from.
      await sbx.exec("mkdir -p /tmp/spy && for p in id mesg; do printf '#!/bin/sh\\necho %s >> /tmp/spy/calls\\nexec /usr/bin/%s \"$@\"\\n' $p $p > /tmp/spy/$p; chmod +x /tmp/spy/$p; done");
      const env = { PATH: "/tmp/spy:/usr/bin:/bin" };
      const bash = await sbx.exec(["/bin/bash", "-l", "-c", 'echo "$PATH"'], { env });
      assert.equal(bash.stdout, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", "root's PATH, as before");
      assert.equal((await sbx.exec("cat /tmp/spy/calls 2>/dev/null; true")).stdout, "", "bash -l ran neither id nor mesg");
      const sh = await sbx.exec(["/bin/sh", "-l", "-c", 'echo "$PATH"'], { env });
      assert.equal(sh.stdout, bash.stdout);
      assert.equal((await sbx.exec("cat /tmp/spy/calls")).stdout, "id\n", "dash has no EUID and still asks id");
    });
  });
});
