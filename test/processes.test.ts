import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BurrowApiError, Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Poll `ok` until it holds; fail with `what` after `ms`. */
async function until(what: string, ok: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    assert.ok(Date.now() < deadline, `${what} within ${ms} ms`);
    await sleep(50);
  }
}

describe("background processes", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    srv = await startTestServer();
    sbx = srv.burrow.sandbox(name("proc"));
  });
  after(() => srv.cleanup());

  it("starts at once with an id and pid, and keeps running between calls", async () => {
    const t = Date.now();
    const p = await sbx.startProcess("echo started; sleep 30", { processId: "sleeper" });
    assert.ok(Date.now() - t < 2000);
    assert.equal(p.id, "sleeper");
    assert.ok(p.pid && p.pid > 1);
    assert.equal(p.status, "running");
    await p.waitForLog("started");
    assert.equal((await sbx.getProcess("sleeper")).status, "running");
    assert.ok((await sbx.listProcesses()).some((x) => x.id === "sleeper" && x.status === "running"));
    const killed = await p.kill();
    assert.equal(killed.status, "killed");
    assert.equal(killed.exitCode, 143);
  });

  it("refuses a second running process with the same id, and unknown ids", async () => {
    const p = await sbx.startProcess("sleep 30", { processId: "dup" });
    await assert.rejects(sbx.startProcess("true", { processId: "dup" }), (e: BurrowApiError) => e.code === "PROCESS_EXISTS" && e.status === 409);
    await p.kill("SIGKILL");
    await assert.rejects(sbx.getProcess("nope"), (e: BurrowApiError) => e.code === "PROCESS_NOT_FOUND" && e.status === 404);
  });

  it("reports completed and failed with exit codes, and has first logs even for fast commands", async () => {
    const ok = await sbx.startProcess("echo quick");
    const done = await ok.waitForExit(10_000);
    assert.equal(done.status, "completed");
    assert.equal(done.exitCode, 0);
    assert.equal((await ok.getLogs()).stdout, "quick\n");
    const bad = await sbx.startProcess("echo oops >&2; exit 3");
    const failed = await bad.waitForExit(10_000);
    assert.equal(failed.status, "failed");
    assert.equal(failed.exitCode, 3);
    assert.equal((await sbx.getProcessLogs(bad.id)).stderr, "oops\n");
  });

  it("kills a three-level process tree whole", async () => {
    const p = await sbx.startProcess("bash -c 'bash -c \"sleep 301 & sleep 302; wait\" & sleep 303; wait'");
    await until("all three levels running", async () => (await sbx.exec("ps -eo args | grep -c '^sleep 30[123]' || true")).stdout.trim() === "3");
    const info = await p.kill();
    assert.equal(info.status, "killed");
    const after = await sbx.exec("ps -eo args | grep -c '^sleep 30[123]' || true");
    assert.equal(after.stdout.trim(), "0", "no child or grandchild survived");
  });

  it("SIGKILLs a process that traps SIGTERM after the grace period, reported as killed with 137", async () => {
    const p = await sbx.startProcess("trap 'echo got-term' TERM; echo ready; while true; do sleep 0.1; done");
    await p.waitForLog("ready");
    const t = Date.now();
    const info = await p.kill();
    assert.ok(Date.now() - t >= 2500, "waited for the grace period");
    assert.equal(info.status, "killed");
    assert.equal(info.exitCode, 137);
  });

  it("streams logs live, replays what was missed, serves several readers, and ends with exit", async () => {
    const p = await sbx.startProcess("for i in 1 2 3 4 5; do echo line-$i; sleep 0.2; done; echo err >&2");
    await p.waitForLog("line-1"); // readers that start now have missed a line, which they must get replayed
    const read = async () => {
      const seen: string[] = [];
      let exit: unknown;
      for await (const e of p.streamLogs()) {
        if (e.type === "stdout" || e.type === "stderr") seen.push(`${e.type}:${e.data}`);
        if (e.type === "exit") exit = e;
      }
      return { text: seen.join(""), exit };
    };
    const [a, b] = await Promise.all([read(), read()]);
    for (const r of [a, b]) {
      assert.equal(r.text, "stdout:line-1\nstdout:line-2\nstdout:line-3\nstdout:line-4\nstdout:line-5\nstderr:err\n");
      assert.deepEqual(r.exit, { type: "exit", exitCode: 0, status: "completed" });
    }
  });

  it("lets a reader cancel midway and another reconnect quickly without errors", async () => {
    const p = await sbx.startProcess("for i in $(seq 1 30); do echo tick-$i; sleep 0.05; done");
    const ctl = new AbortController();
    let n = 0;
    let stopped: unknown;
    try {
      for await (const e of p.streamLogs({ signal: ctl.signal })) if (e.type === "stdout" && ++n === 2) ctl.abort();
    } catch (err) {
      stopped = err;
    }
    assert.equal(n, 2, "the reader stopped where it cancelled");
    assert.ok(!stopped || /abort/i.test(`${(stopped as Error).name} ${(stopped as Error).message}`), `only the abort ends it: ${stopped}`);
    const again = await p.waitForLog("tick-30", 10_000);
    assert.equal(again.line, "tick-30");
  });

  it("waitForLog matches strings and regexes on stdout and stderr, times out, and fails when the process exits first", async () => {
    const p = await sbx.startProcess("echo 'Local: http://localhost:5173/'; echo 'warn: slow' >&2; sleep 30");
    const m = await p.waitForLog(/Local:\s+(http\S+)/);
    assert.equal(m.match![1], "http://localhost:5173/");
    const e = await p.waitForLog("warn: slow");
    assert.equal(e.stream, "stderr");
    await assert.rejects(p.waitForLog("never printed", 500), (err: BurrowApiError) => err.code === "WAIT_TIMEOUT");
    await p.kill("SIGKILL");
    const q = await sbx.startProcess("echo bye; exit 4");
    await assert.rejects(q.waitForLog("never"), (err: BurrowApiError) => err.code === "PROCESS_EXITED" && err.details.exitCode === 4);
  });

  it("waitForPort returns soon after a server listens, in tcp and http modes", async () => {
    await sbx.writeFile("/workspace/srv.py", [
      "import http.server, time, sys",
      "time.sleep(0.5)",
      "class H(http.server.BaseHTTPRequestHandler):",
      "    def do_GET(self):",
      "        self.send_response(200 if self.path == '/health' else 404); self.end_headers(); self.wfile.write(b'ok')",
      "    def log_message(self, *a): pass",
      "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()",
    ].join("\n"));
    const p = await sbx.startProcess("python3 /workspace/srv.py 8123");
    const t = Date.now();
    const r = await p.waitForPort(8123, { timeout: 10_000 });
    assert.equal(r.port, 8123);
    assert.ok(Date.now() - t >= 400);
    const h = await sbx.waitForPort(8123, { mode: "http", path: "/health", status: 200 });
    assert.equal(h.status, 200);
    await assert.rejects(sbx.waitForPort(8123, { mode: "http", path: "/missing", status: 200, timeout: 300 }), (e: BurrowApiError) => e.code === "WAIT_TIMEOUT");
    await assert.rejects(sbx.waitForPort(8999, { timeout: 200 }), (e: BurrowApiError) => e.code === "WAIT_TIMEOUT");
    await p.kill();
  });

  it("bounds the log and says what was dropped", async () => {
    const p = await sbx.startProcess("head -c 6000000 /dev/zero | tr '\\0' a; echo; echo tail-marker");
    await p.waitForExit(20_000);
    const logs = await p.getLogs();
    assert.ok(logs.droppedBytes > 0);
    assert.ok(logs.stdout.length <= 4 * 1024 * 1024);
    assert.ok(logs.stdout.endsWith("tail-marker\n"));
    const first = await p.streamLogs().next();
    assert.equal(first.value!.type, "dropped");
  });

  it("kills all processes, and a session's processes with the session but not the sandbox's own", async () => {
    const own = await sbx.startProcess("sleep 60", { processId: "sandbox-own" });
    const s = await sbx.createSession({ id: "with-procs" });
    await s.exec("cd /tmp && export FROM_SESSION=yes");
    const sp = await s.startProcess("pwd; echo $FROM_SESSION; sleep 60");
    await sp.waitForLog("yes");
    assert.equal((await sp.getLogs()).stdout, "/tmp\nyes\n", "started where the session's shell was");
    await s.delete();
    await until("the session's process killed with it", async () => (await sbx.getProcess(sp.id)).status === "killed");
    assert.equal((await sbx.getProcess(own.id)).status, "running");
    // A daemon that an exec left behind is no process of Burrow's: killAllProcesses reaches it too.
    await sbx.exec("setsid nohup sleep 777 > /dev/null 2>&1 &");
    // The exec returns once its shell has; the backgrounded daemon may not have become `sleep` yet.
    await until("the daemon running", async () => (await sbx.exec("pgrep -c -f '^sleep 777$' || true")).stdout.trim() === "1");
    const n = await sbx.killAllProcesses();
    assert.ok(n >= 2, `killed ${n}`);
    assert.equal((await sbx.getProcess(own.id)).status, "killed");
    assert.equal((await sbx.exec("pgrep -c -f '^sleep 777$' || true")).stdout.trim(), "0", "the leftover daemon is gone");
  });

  it("keeps the sandbox awake while a log stream is open", async () => {
    const id = name("awake");
    const s = srv.burrow.sandbox(id, { sleepAfter: 1 });
    const p = await s.startProcess("sleep 2.5; echo finished");
    const l = await p.waitForLog("finished", 10_000);
    assert.equal(l.line, "finished");
    assert.equal((await srv.burrow.get(id)).state, "running");
  });
});
