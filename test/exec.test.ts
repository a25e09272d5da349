import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { BurrowApiError, type Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

describe("exec", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    srv = await startTestServer();
    sbx = srv.burrow.sandbox(name("exec"));
  });
  after(() => srv.cleanup());

  it("returns stdout and stderr apart, with the real exit code", async () => {
    const r = await sbx.exec("echo out; echo err >&2; exit 3");
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    assert.equal(r.exitCode, 3);
    assert.equal(r.success, false);
    assert.ok(r.durationMs >= 0);
  });

  it("gives 127 for a missing command, as a string and as argv", async () => {
    assert.equal((await sbx.exec("no-such-command-here")).exitCode, 127);
    const r = await sbx.exec(["no-such-binary", "x"]);
    assert.equal(r.exitCode, 127);
    assert.match(r.stderr, /not found/);
  });

  it("runs argv without shell quoting", async () => {
    const r = await sbx.exec(["printf", "%s|", "a b", "$HOME", "'q'", "*"]);
    assert.equal(r.stdout, "a b|$HOME|'q'|*|");
  });

  it("feeds stdin, and a command that reads stdin without any does not hang", async () => {
    assert.equal((await sbx.exec("tr a-z A-Z", { stdin: "hello\n" })).stdout, "HELLO\n");
    const r = await sbx.exec("cat; echo done", { timeoutMs: 10_000 });
    assert.equal(r.stdout, "done\n");
  });

  it("applies cwd and env per command, and nothing leaks to the next command", async () => {
    await sbx.mkdir("/workspace/sub", { recursive: true });
    const r = await sbx.exec("pwd; echo $FOO; cd /tmp; export BAR=1", { cwd: "/workspace/sub", env: { FOO: "foo" } });
    assert.equal(r.stdout, "/workspace/sub\nfoo\n");
    const r2 = await sbx.exec('pwd; echo "[$FOO][$BAR]"');
    assert.equal(r2.stdout, "/workspace\n[][]\n");
  });

  it("refuses a cwd that does not exist with a clear error", async () => {
    await assert.rejects(sbx.exec("true", { cwd: "/nope/missing" }), (e: BurrowApiError) => e.code === "INVALID_PATH" && e.status === 400);
  });

  it("times out, says so, and kills the whole process tree", async () => {
    const t = Date.now();
    await assert.rejects(
      sbx.exec("(sleep 300 & sleep 300 & wait) & sleep 300; echo never", { timeoutMs: 500 }),
      (e: BurrowApiError) => e.code === "EXEC_TIMEOUT" && e.status === 408,
    );
    assert.ok(Date.now() - t < 5000, "timeout returned promptly");
    const ps = await sbx.exec("ps -eo comm= | grep -c '^sleep$' || true");
    assert.equal(ps.stdout.trim(), "0", "no sleep process survived");
  });

  it("streams output as it happens, in order: start, output, complete", async () => {
    const events: { type: string; at: number }[] = [];
    const t = Date.now();
    for await (const e of sbx.execStream("echo one; sleep 0.4; echo two >&2; sleep 0.4; echo three; exit 5")) events.push({ ...e, at: Date.now() - t });
    const types = events.map((e) => e.type);
    assert.equal(types[0], "start");
    assert.equal(types.at(-1), "complete");
    assert.deepEqual(types.filter((x) => x === "stdout" || x === "stderr"), ["stdout", "stderr", "stdout"]);
    const last = events.at(-1) as unknown as { exitCode: number };
    assert.equal(last.exitCode, 5);
    // "one" arrived well before the end: it was streamed, not buffered.
    assert.ok(events[1]!.at < events.at(-1)!.at - 500);
  });

  it("streams through exec with onOutput and returns the result", async () => {
    const seen: string[] = [];
    const r = await sbx.exec("for i in 1 2 3; do echo $i; done", { stream: true, onOutput: (_s, d) => seen.push(d) });
    assert.equal(seen.join(""), "1\n2\n3\n");
    assert.equal(r.stdout, "1\n2\n3\n");
    assert.equal(r.exitCode, 0);
  });

  it("streams a timeout as an error event", async () => {
    const types: string[] = [];
    for await (const e of sbx.execStream("echo a; sleep 30", { timeoutMs: 300 })) {
      types.push(e.type);
      if (e.type === "error") assert.equal(e.code, "EXEC_TIMEOUT");
    }
    assert.deepEqual(types, ["start", "stdout", "error"]);
  });

  it("runs each exec as a fresh process: shell state does not carry over", async () => {
    await sbx.exec("myfn() { echo hi; }; alias ll=ls; X=1");
    const r = await sbx.exec("type myfn >/dev/null 2>&1 && echo fn; alias ll >/dev/null 2>&1 && echo alias; echo [$X]");
    assert.equal(r.stdout, "[]\n");
  });

  it("ends a stream with an explicit error when the sandbox stops under it", async () => {
    const victim = srv.burrow.sandbox(name("dies"));
    await victim.exec("true");
    const events: string[] = [];
    const done = (async () => {
      for await (const e of victim.execStream("echo started; sleep 60")) {
        events.push(e.type);
        if (e.type === "stdout") void victim.sleep();
      }
    })();
    await Promise.race([done, new Promise((_, j) => setTimeout(() => j(new Error("the stream hung")), 20_000))]);
    assert.equal(events.at(-1), "error");
    assert.ok(!events.includes("complete"));
  });

  it("handles large output", async () => {
    const r = await sbx.exec("head -c 5000000 /dev/zero | tr '\\0' x");
    assert.equal(r.stdout.length, 5_000_000);
  });

  it("runs concurrent commands in one sandbox independently", async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => sbx.exec(`echo ${i}`)));
    rs.forEach((r, i) => assert.equal(r.stdout, `${i}\n`));
  });
});
