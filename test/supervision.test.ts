import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/** Poll GET /v1/sandboxes/:id until `ok` holds, failing after `ms`. Returns the info and how long it took. */
async function until(srv: TestServer, id: string, ok: (info: any) => boolean, ms: number): Promise<{ info: any; tookMs: number }> {
  const t0 = Date.now();
  let info: any;
  while (Date.now() - t0 < ms) {
    info = await (await srv.api("GET", `/v1/sandboxes/${id}`)).json();
    if (ok(info)) return { info, tookMs: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`sandbox ${id} did not reach the expected state within ${ms} ms; last: ${JSON.stringify(info)}`);
}

const initPid = (srv: TestServer, id: string) => Number(readFileSync(join(srv.dataDir, "sandboxes", id, "pid"), "utf8"));
const runtimePid = (srv: TestServer, id: string) => {
  const pid = initPid(srv, id);
  return Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ")[0]);
};

describe("supervision", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.cleanup());

  it("a killed init is noticed within a second, recorded, and the next request restarts the sandbox with its disk", async (t) => {
    const id = name("init");
    const sbx = srv.burrow.sandbox(id);
    await sbx.writeFile("/workspace/keep.txt", "still here");
    process.kill(initPid(srv, id), "SIGKILL");
    const { info, tookMs } = await until(srv, id, (i) => i.state === "crashed", 1000);
    assert.ok(tookMs < 1000, `noticed after ${tookMs} ms`);
    t.diagnostic(`crashed state seen ${tookMs} ms after the kill (polling every 20 ms)`);
    assert.equal(info.crash.kind, "init-killed");
    assert.match(info.crash.reason, /init ended/);
    assert.ok(Date.now() - Date.parse(info.crash.at) < 5000);
    assert.equal(info.crash.count, 1);
    assert.equal(info.crash.restartAfter, null);
    assert.match(srv.log, new RegExp(`sandbox ${id} crashed`));
    const r = await sbx.exec("cat /workspace/keep.txt");
    assert.equal(r.stdout, "still here");
    assert.equal((await sbx.info()).state, "running");
  });

  it("a killed runtime is reported with its signal", async () => {
    const id = name("rt");
    const sbx = srv.burrow.sandbox(id);
    await sbx.exec("true");
    process.kill(runtimePid(srv, id), "SIGKILL");
    const { info } = await until(srv, id, (i) => i.state === "crashed", 1000);
    assert.equal(info.crash.kind, "runtime-killed");
    assert.match(info.crash.reason, /SIGKILL/);
    assert.equal((await sbx.exec("echo back")).stdout, "back\n");
  });

  it("running out of memory is reported as such", async () => {
    const id = name("oom");
    const sbx = srv.burrow.sandbox(id, { limits: { memoryMB: 96 } });
    // The runtime made the OOM killer's first choice, then memory filled by many small processes
    // (none larger than the runtime): the kernel kills the runtime, and with it the whole sandbox.
    const hog = `echo 1000 > /proc/$(pgrep -f runtime.js | head -1)/oom_score_adj; for i in $(seq 16); do python3 -c 'import time; b=b"x"*(8<<20); time.sleep(30)' & done; wait`;
    await sbx.exec(hog).catch(() => {});
    const { info } = await until(srv, id, (i) => i.state === "crashed", 5000);
    assert.equal(info.crash.kind, "oom", info.crash.reason);
    assert.match(info.crash.reason, /out of memory.*96 MB/);
    assert.equal((await sbx.exec("echo alive")).stdout, "alive\n");
  });

  it("repeated crashes back off and say so", async () => {
    const id = name("loop");
    const sbx = srv.burrow.sandbox(id);
    await sbx.exec("true");
    process.kill(initPid(srv, id), "SIGKILL");
    await until(srv, id, (i) => i.state === "crashed", 1000);
    await sbx.exec("true"); // the first crash restarts at once
    process.kill(initPid(srv, id), "SIGKILL");
    const { info } = await until(srv, id, (i) => i.state === "crashed" && i.crash.count === 2, 1000);
    assert.ok(info.crash.restartAfter, "a second crash in a row sets a time before which it does not restart");
    const refused = await srv.api("POST", `/v1/sandboxes/${id}/exec`, { command: "true" });
    assert.equal(refused.status, 503);
    const body = await refused.json();
    assert.equal(body.code, "SANDBOX_CRASHED");
    assert.match(body.message, /crashed 2 times in a row/);
    assert.ok(body.retryAfter >= 1);
    assert.equal(refused.headers.get("retry-after"), String(body.retryAfter));
    await new Promise((r) => setTimeout(r, Date.parse(info.crash.restartAfter) - Date.now() + 50));
    assert.equal((await sbx.exec("echo again")).stdout, "again\n");
  });

  it("an open stream ends with an explicit error naming the crash", async () => {
    const id = name("stream");
    await srv.burrow.sandbox(id).exec("true");
    const res = await srv.api("POST", `/v1/sandboxes/${id}/exec`, { command: "echo started; sleep 30" }, { accept: "text/event-stream" });
    const reader = res.body!.getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!text.includes("started")) {
      assert.ok(Date.now() < deadline, "the stream never started");
      text += new TextDecoder().decode((await reader.read()).value);
    }
    process.kill(initPid(srv, id), "SIGKILL");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assert.match(text, /event: error\ndata: .*"code":"SANDBOX_CRASHED"/);
  });

  it("an open terminal is closed with 1011, not a normal close", async () => {
    const id = name("term");
    await srv.burrow.sandbox(id).exec("true");
    const ws = new WebSocket(`${srv.url.replace("http", "ws")}/v1/sandboxes/${id}/terminal`, { headers: { authorization: `Bearer ${srv.token}` } });
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the terminal never said ready")), 10_000);
      ws.on("message", (d) => String(d).includes('"ready"') && (clearTimeout(t), resolve()));
      ws.once("error", reject);
    });
    process.kill(initPid(srv, id), "SIGKILL");
    const code = await Promise.race([closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error("the terminal stayed open")), 5000))]);
    assert.equal(code, 1011);
  });

  it("a runtime socket that goes away is healed: the next request restarts the sandbox", async () => {
    const id = name("sock");
    const sbx = srv.burrow.sandbox(id);
    await sbx.writeFile("/workspace/k.txt", "kept");
    rmSync(join(srv.dataDir, "run", id, "runtime.sock"));
    assert.equal((await sbx.exec("cat /workspace/k.txt")).stdout, "kept");
    const info = await sbx.info();
    assert.equal(info.state, "running");
    assert.equal(info.crash?.kind, "unreachable");
  });
});
