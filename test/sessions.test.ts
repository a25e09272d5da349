import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BurrowApiError, Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

describe("sessions", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    srv = await startTestServer();
    sbx = srv.burrow.sandbox(name("sess"));
  });
  after(() => srv.cleanup());

  it("keeps cd, export, functions and aliases between commands", async () => {
    const s = await sbx.createSession();
    await s.exec("cd /tmp && export GREETING=hello && greet() { echo \"$GREETING $1\"; } && alias say='echo said'");
    const r = await s.exec("pwd; greet world; say it");
    assert.equal(r.stdout, "/tmp\nhello world\nsaid it\n");
    await s.delete();
  });

  it("shares the filesystem with other sessions but not the shell state", async () => {
    const a = await sbx.createSession({ id: "a" });
    const b = await sbx.createSession({ id: "b" });
    await a.exec("export ONLY_A=1; cd /etc; echo shared > /tmp/shared.txt");
    const r = await b.exec("echo [$ONLY_A]; pwd; cat /tmp/shared.txt");
    assert.equal(r.stdout, "[]\n/workspace\nshared\n");
    await a.delete();
    await b.delete();
  });

  it("runs concurrent commands one at a time, in order, without interleaving", async () => {
    const s = await sbx.createSession();
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => s.exec(`for j in 1 2 3; do echo ${i}-$j; sleep 0.01; done; echo ${i} >> /tmp/order`)),
    );
    rs.forEach((r, i) => assert.equal(r.stdout, `${i}-1\n${i}-2\n${i}-3\n`));
    const order = await s.exec("cat /tmp/order");
    assert.equal(order.stdout, Array.from({ length: 10 }, (_, i) => `${i}\n`).join(""));
    await s.delete();
  });

  it("does not leak per-command env and cwd into the session; unset works", async () => {
    const s = await sbx.createSession({ env: { KEEP: "k" } });
    const r = await s.exec("echo $TMPVAR; pwd", { env: { TMPVAR: "t" }, cwd: "/usr" });
    assert.equal(r.stdout, "t\n/usr\n");
    const r2 = await s.exec("echo [$TMPVAR] $KEEP; pwd");
    assert.equal(r2.stdout, "[] k\n/workspace\n");
    assert.equal((await s.exec("echo [$KEEP]", { env: { KEEP: null } })).stdout, "[]\n");
    assert.equal((await s.exec("echo [$KEEP]")).stdout, "[k]\n");
    await s.delete();
  });

  it("setEnvVars sets and unsets variables for later commands", async () => {
    const s = await sbx.createSession();
    await s.setEnvVars({ API_URL: "http://x", EMPTY: "" });
    assert.equal((await s.exec("echo $API_URL")).stdout, "http://x\n");
    await s.setEnvVars({ API_URL: null });
    assert.equal((await s.exec("echo [${API_URL-unset}]")).stdout, "[unset]\n");
    await s.delete();
  });

  it("reports `exit 42` and gives the next command a fresh shell", async () => {
    const s = await sbx.createSession({ id: "exiter" });
    await s.exec("export GONE=1; cd /tmp");
    const r = await s.exec("echo bye; exit 42");
    assert.equal(r.exitCode, 42);
    assert.equal(r.sessionExited, true);
    assert.equal(r.stdout, "bye\n");
    const r2 = await s.exec("echo [$GONE]; pwd");
    assert.equal(r2.stdout, "[]\n/workspace\n");
    assert.equal(r2.exitCode, 0);
    await s.delete();
  });

  it("comes back clean after delete with the same id", async () => {
    const s = await sbx.createSession({ id: "reused" });
    await s.exec("export STATE=old");
    await s.delete();
    const again = await sbx.createSession({ id: "reused" });
    assert.equal((await again.exec("echo [$STATE]")).stdout, "[]\n");
    await again.delete();
  });

  it("refuses a duplicate session id and an unknown one", async () => {
    const s = await sbx.createSession({ id: "dup" });
    await assert.rejects(sbx.createSession({ id: "dup" }), (e: BurrowApiError) => e.code === "SESSION_BUSY" && e.status === 409);
    await s.delete();
    await assert.rejects(s.exec("true"), (e: BurrowApiError) => e.code === "SESSION_NOT_FOUND" && e.status === 404);
  });

  it("runs a heredoc, reads stdin, and streams", async () => {
    const s = await sbx.createSession();
    const r = await s.exec("cat <<'EOF'\nline one\n$NOT_EXPANDED\nEOF");
    assert.equal(r.stdout, "line one\n$NOT_EXPANDED\n");
    assert.equal((await s.exec("wc -l", { stdin: "a\nb\nc\n" })).stdout.trim(), "3");
    assert.equal((await s.exec("cat; echo end")).stdout, "end\n");
    const chunks: string[] = [];
    const st = await s.exec("echo x; echo y >&2; printf z", { stream: true, onOutput: (k, d) => chunks.push(`${k}:${d}`) });
    assert.equal(st.stdout, "x\nz");
    assert.equal(st.stderr, "y\n");
    await s.delete();
  });

  it("times out a command, kills what it started, and keeps the session usable", async () => {
    const s = await sbx.createSession();
    await s.exec("export KEPT=yes");
    await assert.rejects(s.exec("sleep 60", { timeoutMs: 300 }), (e: BurrowApiError) => e.code === "EXEC_TIMEOUT");
    assert.equal((await s.exec("echo $KEPT")).stdout, "yes\n", "a timed-out child does not cost the shell its state");
    // A builtin loop cannot be killed apart from the shell: the shell restarts.
    await assert.rejects(s.exec("while :; do :; done", { timeoutMs: 300 }), (e: BurrowApiError) => e.code === "EXEC_TIMEOUT");
    assert.equal((await s.exec("echo alive")).stdout, "alive\n");
    await s.delete();
  });
});
