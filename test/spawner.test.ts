import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One-shot commands start through burrow-spawner (src/runtime/init/spawner.c)
 * once it runs: these check that such a command is what a spawned one was (its
 * own session, the user pids cgroup, the env and cwd it was given; a
 * background process likewise), that only
 * the sandbox's root can reach the spawner, and that commands still run when
 * the spawner is gone or cannot fork.
 */
describe("commands started by the spawner", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  const spawnerPid = async () => (await sbx.exec("pgrep -x spawner | head -1")).stdout.trim();

  before(async () => {
    srv = await startTestServer();
    sbx = srv.burrow.sandbox(name("spawn"));
    await sbx.exec("true"); // the first command starts the spawner
    for (let i = 0; i < 50 && !(await spawnerPid()); i++) await sleep(50);
  });
  after(() => srv.cleanup());

  it("runs commands as their own session, in the user pids cgroup, with the env and cwd asked for", async () => {
    const pid = await spawnerPid();
    assert.match(pid, /^\d+$/, "the spawner runs");
    const r = await sbx.exec('echo "$$ $PPID"; ps -o sid= -p $$; grep pids /proc/self/cgroup; pwd; echo "$GREETING"; cat', { cwd: "/tmp", env: { GREETING: "héllo wörld" } });
    const [ids, sid, cgroup, cwd, greeting] = r.stdout.split("\n");
    const [self, parent] = ids!.split(" ");
    assert.equal(sid!.trim(), self, "a session of its own");
    assert.equal((await sbx.exec(`ps -o ppid= -p ${parent}`)).stdout.trim(), "", "its handler is gone once it ended");
    assert.match(cgroup!, /pids:\/user$/);
    assert.equal(cwd, "/tmp");
    assert.equal(greeting, "héllo wörld");
    assert.equal(r.exitCode, 0, "stdin is empty: cat ends at once");
    // No pipeline in the shell whose descriptors are listed (setting one up, it holds pipe ends for a moment),
    // and not its last command (which it would exec, listing ls's own).
    const fds = (await sbx.exec(["/bin/sh", "-c", "ls /proc/$$/fd; true"])).stdout.split("\n").filter(Boolean).map(Number).sort((a, b) => a - b);
    assert.deepEqual(fds, [0, 1, 2], "no descriptor of the spawner's is left open in the command");
  });

  it("is the sandbox root's alone: another user cannot connect to it", async () => {
    const r = await sbx.exec(
      `setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("/dev/.burrow-spawner.sock")' 2>&1; echo "exit $?"`,
    );
    assert.match(r.stdout, /PermissionError|Permission denied/);
    assert.match(r.stdout, /exit 1$/m);
    assert.match((await sbx.exec("stat -c '%U %a' /dev/.burrow-spawner.sock")).stdout, /^root [67]00$/m, "no one but root may connect");
  });

  it("keeps running commands when every process is killed, and kills what they left behind", async () => {
    const long = sbx.exec("sleep 1.5; echo survived");
    await sleep(500);
    await sbx.exec("sleep 300 > /dev/null 2>&1 &");
    await sbx.killAllProcesses();
    assert.equal((await long).stdout, "survived\n");
    assert.equal((await sbx.exec("pgrep -x 'sleep' | wc -l")).stdout.trim(), "0", "the background sleep is gone");
    assert.match(await spawnerPid(), /^\d+$/, "the spawner stays");
  });

  it("runs commands without the spawner, and starts a new one", async () => {
    const old = await spawnerPid();
    await sbx.exec(`kill -9 ${old}`);
    const r = await sbx.exec("echo still here");
    assert.equal(r.stdout, "still here\n");
    let now = "";
    for (let i = 0; i < 60 && (!now || now === old); i++) {
      await sleep(100);
      await sbx.exec("true");
      now = await spawnerPid();
    }
    assert.ok(now && now !== old, `a new spawner runs (was ${old}, now ${now})`);
  });

  it("starts background processes too: their pid at once, their logs, their end", async () => {
    const p = await sbx.startProcess("echo started; sleep 30", { processId: "bg" });
    assert.ok(p.pid, "the answer has the pid");
    const parent = (await sbx.exec(`ps -o ppid= -p ${p.pid}`)).stdout.trim();
    assert.equal((await sbx.exec(`ps -o comm= -p ${parent}`)).stdout.trim(), "spawner", "a spawner's handler started it");
    for (let i = 0; i < 50 && !(await sbx.getProcessLogs("bg")).stdout; i++) await sleep(20);
    assert.equal((await sbx.getProcessLogs("bg")).stdout, "started\n");
    assert.equal((await p.kill()).status, "killed");
    assert.equal((await sbx.exec(`kill -0 ${p.pid} 2>/dev/null && echo alive || echo gone`)).stdout, "gone\n");

    const quick = await sbx.startProcess("exit 4");
    assert.equal((await quick.waitForExit()).exitCode, 4);
    // Killed as soon as it is started, before anything else happens to it.
    const brief = await sbx.startProcess("sleep 30", { processId: "brief" });
    assert.equal((await brief.kill("SIGKILL")).status, "killed");
  });

  it("kills a command on timeout, and reports one that cannot be executed", async () => {
    await assert.rejects(sbx.exec("sleep 30 & sleep 30", { timeoutMs: 300 }), /timed out/);
    assert.equal((await sbx.exec("pgrep -x sleep | wc -l")).stdout.trim(), "0", "the whole tree went");
    await sbx.exec("printf '#!/bin/sh\\necho hi\\n' > /tmp/noexec.sh && chmod 644 /tmp/noexec.sh");
    const r = await sbx.exec(["/tmp/noexec.sh"]);
    assert.equal(r.exitCode, 126);
    assert.match(r.stderr, /Permission denied/);
  });
});
