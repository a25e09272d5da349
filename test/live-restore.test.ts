import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { leftovers } from "./helpers/leaks.js";
import { matchSurvivors, protocolVerdict } from "../src/sandboxes/live-restore.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const ROOT = new URL("..", import.meta.url).pathname;

/** Wait until `ok()` holds, failing after `ms`. */
async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** GET a preview URL (its host name resolved to loopback, as browsers do for *.localhost). */
function preview(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { lookup: ((_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => (o?.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4))) as never }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d) => (body += d)).on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A raw terminal WebSocket (to see its close code), with everything it printed. */
function terminal(srv: TestServer, id: string, terminalId: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/sandboxes/${id}/terminal?terminalId=${terminalId}`, { headers: { authorization: `Bearer ${srv.token}` } });
  let out = "";
  ws.on("message", (d, isBinary) => isBinary && (out += d.toString()));
  const closed = new Promise<number>((r) => ws.on("close", (code) => r(code)));
  const open = new Promise<void>((resolve, reject) => ws.once("open", () => resolve()).once("error", reject));
  return { ws, open, closed, output: () => out, type: (s: string) => ws.send(Buffer.from(s), { binary: true }) };
}

const initPid = (srv: TestServer, id: string) => Number(readFileSync(join(srv.dataDir, "sandboxes", id, "pid"), "utf8"));

describe("live restore", () => {
  let srv: TestServer;
  const id = name("live");
  let counterPid = 0;
  let webPid = 0;
  let url = "";
  let ctx = "";
  let init = 0;
  let shell: { exec(command: string): Promise<{ stdout: string }> };
  before(async () => {
    srv = await startTestServer();
    const sbx = srv.burrow.sandbox(id);
    const counter = await sbx.startProcess("i=0; while :; do i=$((i+1)); echo line-$i; sleep 0.05; done", { processId: "counter" });
    const web = await sbx.startProcess("python3 -m http.server 8000", { processId: "web", cwd: "/workspace" });
    await sbx.writeFile("/workspace/index.html", "served from a sandbox that outlived its server");
    await web.waitForPort(8000, { timeout: 10_000 });
    counterPid = (await sbx.getProcess(counter.id)).pid!;
    webPid = (await sbx.getProcess(web.id)).pid!;
    url = (await sbx.exposePort(8000, { token: "livetoken" })).url;
    shell = await sbx.createSession({ id: "shell" });
    await shell.exec("cd /tmp && export KEPT=across-restarts");
    ctx = (await sbx.createCodeContext({ language: "python" })).id;
    await sbx.runCode("x = 41", { context: ctx });
    init = initPid(srv, id);
  });
  after(() => srv.cleanup());

  /** Restart the server by `how` while a terminal waits for a file the host makes meanwhile; check that everything lived on. */
  async function restartAndCheck(t: { diagnostic(s: string): void }, how: "SIGTERM" | "SIGKILL", n: number): Promise<void> {
    const sbx = srv.burrow.sandbox(id);
    const term = terminal(srv, id, "tty");
    await term.open;
    // The shell waits for a file in its run directory (which the host writes), then prints and leaves a mark the host can read.
    // Meanwhile it also tries the egress proxy, which must refuse cleanly (a 503 from the sandbox's own bridge), not hang or reset.
    term.type(`until [ -e /.burrow/run/go${n} ]; do sleep 0.05; done; echo away-$((${n}*1000+42)); curl -s -m 5 -x http://127.0.0.1:3128 -w ' %{http_code}' http://example.invalid/ > /tmp/egress${n}; touch /tmp/done${n}\r`);
    await until("the terminal echoed the command", () => term.output().includes(`go${n} ]`));
    const logsBefore = (await sbx.getProcessLogs("counter")).stdout;
    // A log stream open across the stop: it ends with an explicit error (a clean stop) or is cut (kill -9); `since` resumes it.
    let lastSeq = 0;
    let ending: { type: string; code?: string } | undefined;
    const follow = (async () => {
      try {
        for await (const e of sbx.streamProcessLogs("counter")) {
          if (e.type === "stdout") lastSeq = e.seq;
          if (e.type === "error") ending = e;
        }
      } catch {
        /* cut */
      }
    })();
    await until("the log stream follows", () => lastSeq > 0);
    if (how === "SIGTERM") {
      await srv.stop();
      assert.equal(await term.closed, 1012, "a terminal open at a clean stop is closed with 1012 (service restart)");
      await follow;
      assert.equal(ending?.code, "SERVER_RESTARTING", "a stream open at a clean stop ends with an explicit error");
    } else {
      await srv.kill9();
      await follow;
    }
    assert.ok(leftovers(srv.dataDir).containers.includes(id), "the container kept running while no server was there");
    writeFileSync(join(srv.dataDir, "run", id, `go${n}`), "");
    await until("the terminal printed while the server was away", () => existsSync(join(srv.dataDir, "sandboxes", id, "upper", "tmp", `done${n}`)));
    assert.equal(readFileSync(join(srv.dataDir, "sandboxes", id, "upper", "tmp", `egress${n}`), "utf8"), "burrow: the egress proxy is restarting; retry in a moment\n 503");

    const t0 = performance.now();
    await srv.restart();
    const startedMs = performance.now() - t0;
    const info = await srv.burrow.get(id);
    assert.equal(info.state, "running", "re-attached, not asleep");
    const t1 = performance.now();
    const first = await sbx.exec("echo first");
    const firstMs = performance.now() - t1;
    assert.equal(first.stdout, "first\n");
    t.diagnostic(`${how}: server up again in ${startedMs.toFixed(0)} ms; first exec after the start ${firstMs.toFixed(1)} ms (no wake)`);
    assert.ok(firstMs < 500, `the first request took ${firstMs} ms: it woke the sandbox`);

    assert.equal(initPid(srv, id), init, "the same container init");
    assert.equal((await sbx.getProcess("counter")).pid, counterPid, "the same background process");
    assert.equal((await sbx.getProcess("counter")).status, "running");
    assert.equal((await sbx.getProcess("web")).pid, webPid);
    // Logs kept by the runtime while the server was away: the counter has no gap.
    const lines = (await sbx.getProcessLogs("counter")).stdout.split("\n").filter(Boolean).map((l) => Number(l.slice(5)));
    assert.ok(lines.length > logsBefore.split("\n").filter(Boolean).length, "output printed while away is kept");
    lines.forEach((v, i) => i && assert.equal(v, lines[i - 1]! + 1, "no line missed"));
    const resumed: number[] = [];
    const ctl = new AbortController();
    for await (const e of sbx.streamProcessLogs("counter", { since: lastSeq, signal: ctl.signal })) {
      if (e.type !== "stdout") continue;
      resumed.push(e.seq);
      if (resumed.length >= 5) break;
    }
    ctl.abort();
    assert.equal(resumed[0], lastSeq + 1, "the stream resumed with since starts right after the last line seen");
    assert.equal((await sbx.runCode("x + 1", { context: ctx })).results[0]?.text, "42", "the code context kept x");
    assert.equal((await shell.exec("echo $KEPT $(pwd)")).stdout, "across-restarts /tmp\n", "the session kept its shell state");
    const page = await preview(url);
    assert.equal(page.status, 200);
    assert.equal(page.body, "served from a sandbox that outlived its server");
    const again = terminal(srv, id, "tty");
    await again.open;
    await until("the reattached terminal replays what was printed while the server was away", () => again.output().includes(`away-${n * 1000 + 42}`), 5000);
    again.ws.close();
    await again.closed;
    // Egress works at once after the start.
    const out = await sbx.exec("curl -s -w ' %{http_code}' http://host.burrow.internal:1/ || true");
    assert.doesNotMatch(out.stdout, /restarting| 000$/, `the egress proxy answered: ${out.stdout}`);
  }

  it("SIGTERM then start: same processes, code context, terminal replay, preview URL, no wake", async (t) => {
    await restartAndCheck(t, "SIGTERM", 1);
  });

  it("kill -9 then start: the same", async (t) => {
    await restartAndCheck(t, "SIGKILL", 2);
  });

  it("a sandbox whose container ended while the server was away is recorded as crashed and healed on its next request", async () => {
    const gone = name("gone");
    const sbx = srv.burrow.sandbox(gone);
    await sbx.writeFile("/workspace/kept.txt", "disk intact");
    await srv.kill9();
    execFileSync("runc", ["--root", join(srv.dataDir, "runc"), "kill", gone, "KILL"]);
    await until("its init ended", () => execFileSync("runc", ["--root", join(srv.dataDir, "runc"), "state", gone], { encoding: "utf8" }).includes('"stopped"'));
    await srv.restart();
    const info = await srv.burrow.get(gone);
    assert.equal(info.state, "crashed");
    assert.match(info.crash!.reason, /while the server was away/);
    assert.ok(!leftovers(srv.dataDir).containers.includes(gone), "its container was removed at start");
    assert.equal((await sbx.readFile("/workspace/kept.txt")).content, "disk intact");
    assert.equal((await sbx.info()).state, "running");
    assert.equal((await srv.burrow.get(id)).state, "running", "the others were re-attached");
  });

  it("a container whose run directory the sandbox could write (a start cut short) is not re-attached", async () => {
    const cut = name("cut");
    await srv.burrow.sandbox(cut).exec("true");
    await srv.kill9();
    execFileSync("chown", ["100000:100000", join(srv.dataDir, "run", cut)]);
    await srv.restart();
    const info = await srv.burrow.get(cut);
    assert.equal(info.state, "crashed");
    assert.match(info.crash!.reason, /run directory is not the host's/);
    assert.ok(!leftovers(srv.dataDir).containers.includes(cut));
    assert.equal((await srv.burrow.sandbox(cut).exec("echo back")).stdout, "back\n");
  });

  it("a registry row whose container is gone is sleeping; a container no sandbox owns (a pool slot) is removed and reported", async () => {
    const gone = name("deleted");
    await srv.burrow.sandbox(gone).writeFile("/workspace/kept.txt", "disk intact");
    await srv.stop();
    await srv.restart({ env: { BURROW_POOL: "1" } });
    await until("the pool has a slot", async () => (await (await srv.api("GET", "/v1/status")).json()).pooled === 1);
    await srv.kill9();
    const slot = leftovers(srv.dataDir).containers.find((c) => c.startsWith("_pool-"));
    assert.ok(slot, "kill -9 left the pool's slot running");
    execFileSync("runc", ["--root", join(srv.dataDir, "runc"), "delete", "-f", gone]);
    const logFrom = srv.log.length;
    await srv.restart();
    assert.equal((await srv.burrow.get(gone)).state, "sleeping");
    assert.match(srv.log.slice(logFrom), new RegExp(`removing container ${slot}: a warm-pool slot`));
    assert.ok(!leftovers(srv.dataDir).containers.includes(slot!), "the slot was removed");
    assert.ok(!existsSync(join(srv.dataDir, "sandboxes", slot!)), "with its directory");
    assert.equal((await srv.burrow.sandbox(gone).readFile("/workspace/kept.txt")).content, "disk intact");
    assert.equal((await srv.burrow.get(id)).state, "running", "the others were re-attached");
  });

  it("an idle sandbox still sleeps on time after a restart, counting the time the server was away", async () => {
    const idle = name("idle");
    const sbx = srv.burrow.sandbox(idle, { sleepAfter: 4 });
    await sbx.exec("true");
    const last = Date.now();
    await srv.stop();
    await srv.restart();
    await until("it sleeps", async () => (await srv.burrow.get(idle)).state === "sleeping", 10_000);
    const after = (Date.now() - last) / 1000;
    assert.ok(after >= 4 && after < 8, `slept ${after.toFixed(1)} s after its last request (sleepAfter 4 s)`);
  });

  it("an upgrade in between: a running sandbox keeps the runtime it started with, new ones get the new build's", async () => {
    // A "newer build": the same runtime files plus one more, which gives it another content hash (another directory in the cache).
    const newer = mkdtempSync(join(tmpdir(), "burrow-newer-runtime-"));
    try {
      cpSync(join(ROOT, "dist", "runtime"), newer, { recursive: true });
      writeFileSync(join(newer, "NEWER"), "a newer build");
      const sbx = srv.burrow.sandbox(id);
      await srv.stop();
      await srv.restart({ env: { BURROW_RUNTIME_DIST: newer } });
      assert.equal((await srv.burrow.get(id)).state, "running");
      assert.equal(initPid(srv, id), init, "the same container");
      assert.equal((await sbx.exec("test -e /.burrow/runtime/NEWER && echo new || echo old")).stdout, "old\n");
      const fresh = srv.burrow.sandbox(name("fresh"));
      assert.equal((await fresh.exec("test -e /.burrow/runtime/NEWER && echo new || echo old")).stdout, "new\n");
      // The old runtime still serves a terminal (its native addon comes from its own, older directory).
      const term = terminal(srv, id, "after-upgrade");
      await term.open;
      term.type("echo still-$((20+1))\r");
      await until("the old runtime's terminal answers", () => term.output().includes("still-21"));
      term.ws.close();
      await term.closed;
    } finally {
      rmSync(newer, { recursive: true, force: true });
    }
  });
});

describe("live restore: --stop-sandboxes", () => {
  it("puts every sandbox to sleep and leaves no container, mount or cgroup", async () => {
    const srv = await startTestServer({ args: ["--stop-sandboxes"] });
    try {
      const id = name("full-stop");
      const sbx = srv.burrow.sandbox(id);
      await sbx.writeFile("/workspace/f.txt", "kept");
      await srv.stop();
      assert.deepEqual(leftovers(srv.dataDir), { containers: [], mounts: [], cgroups: [] });
      await srv.restart();
      assert.equal((await srv.burrow.get(id)).state, "sleeping");
      assert.equal((await sbx.readFile("/workspace/f.txt")).content, "kept");
    } finally {
      await srv.cleanup();
    }
  });
});

describe("live restore: matching and protocol", () => {
  it("matches a sandbox to its container by its container-id file, by name, or by its init's pid; the rest are orphans", () => {
    const dir = mkdtempSync(join(tmpdir(), "burrow-match-"));
    try {
      const rec = (id: string) => ({ id }) as never;
      for (const [id, files] of [["claimed", { "container-id": "_pool-aa" }], ["named", {}], ["old", { pid: "4242" }], ["asleep", {}]] as const) {
        execFileSync("mkdir", ["-p", join(dir, id)]);
        for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, id, f), v);
      }
      const st = (id: string, pid: number) => ({ id, pid, status: "running", created: "" });
      const { survivors, orphans } = matchSurvivors([st("_pool-aa", 1), st("named", 2), st("_pool-bb", 4242), st("_pool-cc", 5), st("stray", 6)], ["claimed", "named", "old", "asleep"].map(rec), dir);
      assert.deepEqual(survivors.map((s) => [(s.record as { id: string }).id, s.state.id]), [["claimed", "_pool-aa"], ["named", "named"], ["old", "_pool-bb"]]);
      assert.deepEqual(orphans.map((o) => o.id), ["_pool-cc", "stray"]);
      assert.match(orphans[0]!.why, /warm-pool slot/);
      assert.match(orphans[1]!.why, /no sandbox/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("speaks runtime protocol 1, and a runtime that reports none speaks 1", () => {
    assert.deepEqual(protocolVerdict({}), { protocol: 1, speaks: true });
    assert.deepEqual(protocolVerdict({ protocol: 1 }), { protocol: 1, speaks: true });
    assert.deepEqual(protocolVerdict({ protocol: 2 }), { protocol: 2, speaks: false });
  });
});
