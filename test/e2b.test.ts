import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CommandExitError, FileNotFoundError, NotFoundError, Sandbox, TimeoutError } from "e2b";
import { Sandbox as CodeInterpreter } from "@e2b/code-interpreter";
import { startTestServer, type TestServer } from "./helpers/server.js";

/** Resolve when `check` holds, or fail after `ms` (no fixed sleeps: the SDK's callbacks are the signal). */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("E2B SDK against Burrow (/e2b), unmodified e2b and @e2b/code-interpreter", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    srv = await startTestServer();
    // The three variables a user sets; nothing else (no E2B_DEBUG, no E2B_DOMAIN).
    process.env.E2B_API_URL = `${srv.url}/e2b`;
    process.env.E2B_SANDBOX_URL = `${srv.url}/e2b`;
    process.env.E2B_API_KEY = srv.token;
    sbx = await Sandbox.create("base", { timeoutMs: 120_000, envs: { GREETING: "hi" }, metadata: { suite: "e2b-test" } });
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
    await srv.cleanup();
  });

  it("creates a Burrow sandbox: it is in Burrow's list with E2B's template and metadata as labels", async () => {
    const info = await srv.burrow.sandbox(sbx.sandboxId).info();
    assert.equal(info.state, "running");
    assert.equal(info.labels["e2b.template"], "base");
    assert.equal(info.labels["e2b.meta.suite"], "e2b-test");
    assert.equal(info.sleepAfter, 120);
    const e2b = await sbx.getInfo();
    assert.equal(e2b.sandboxId, sbx.sandboxId);
    assert.equal(e2b.templateId, "base");
    assert.deepEqual(e2b.metadata, { suite: "e2b-test" });
    assert.equal(e2b.state, "running");
    assert.equal(await sbx.isRunning(), true);
  });

  it("runs commands as user `user` in /home/user, with the sandbox's envs, exit codes and CommandExitError", async () => {
    const r = await sbx.commands.run("echo $GREETING; whoami; pwd; echo $HOME");
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, "hi\nuser\n/home/user\n/home/user\n");
    const root = await sbx.commands.run("whoami", { user: "root" });
    assert.equal(root.stdout, "root\n");
    const env = await sbx.commands.run('echo "$A-$B"', { envs: { A: "1", B: "two words" }, cwd: "/tmp" });
    assert.equal(env.stdout, "1-two words\n");
    await assert.rejects(sbx.commands.run("echo out; echo err >&2; exit 3"), (err: unknown) => {
      assert.ok(err instanceof CommandExitError, String(err));
      assert.equal(err.exitCode, 3);
      assert.equal(err.stdout, "out\n");
      assert.equal(err.stderr, "err\n");
      return true;
    });
  });

  it("streams output as it happens, and runs commands in the background", async () => {
    const seen: { t: number; line: string }[] = [];
    const started = Date.now();
    const r = await sbx.commands.run("echo one; sleep 0.4; echo two", { onStdout: (d) => void seen.push({ t: Date.now() - started, line: d }) });
    assert.equal(r.stdout, "one\ntwo\n");
    assert.deepEqual(seen.map((s) => s.line.trim()), ["one", "two"]);
    assert.ok(seen[1]!.t - seen[0]!.t >= 300, `the lines came ${seen[1]!.t - seen[0]!.t} ms apart`);

    const bg = await sbx.commands.run("sleep 30", { background: true });
    assert.ok(bg.pid > 0);
    const listed = await sbx.commands.list();
    const mine = listed.find((p) => p.pid === bg.pid);
    assert.ok(mine, `pid ${bg.pid} in ${JSON.stringify(listed)}`);
    assert.equal(mine.cmd, "/bin/bash");
    assert.deepEqual(mine.args, ["-l", "-c", "sleep 30"]);
    const again = await sbx.commands.connect(bg.pid);
    assert.equal(again.pid, bg.pid);
    assert.equal(await sbx.commands.kill(bg.pid), true);
    await assert.rejects(bg.wait(), CommandExitError);
    assert.equal(await sbx.commands.kill(999_999), false);
    await assert.rejects(sbx.commands.connect(999_999));
  });

  it("feeds stdin to a background command and closes it", async () => {
    const cat = await sbx.commands.run("cat", { background: true, stdin: true });
    await sbx.commands.sendStdin(cat.pid, "hello ");
    await cat.sendStdin(new TextEncoder().encode("world"));
    await until(() => cat.stdout === "hello world", 5000, "cat to echo its input");
    await cat.closeStdin();
    const r = await cat.wait();
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, "hello world");
  });

  it("kills a command that runs past its timeout (TimeoutError)", async () => {
    const h = await sbx.commands.run("sleep 20", { background: true, timeoutMs: 800 });
    await assert.rejects(h.wait(), TimeoutError);
    // The SDK gives up at its own deadline; the server kills the command at the same moment.
    let gone = false;
    const deadline = Date.now() + 5000;
    while (!gone && Date.now() < deadline) gone = !(await sbx.commands.list()).some((p) => p.pid === h.pid);
    assert.ok(gone, "the timed-out command was killed");
  });
});
