import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { request } from "node:http";
import { CommandExitError, FileNotFoundError, NotFoundError, Sandbox, SandboxNotFoundError, TimeoutError } from "e2b";
import { Sandbox as CodeInterpreter } from "@e2b/code-interpreter";
import type { TestServer } from "./helpers/server.js";

import { e2bServer as server, until } from "./helpers/e2b.js";

describe("E2B SDK against Burrow (/e2b), unmodified e2b and @e2b/code-interpreter", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    srv = await server();
    sbx = await Sandbox.create("base", { timeoutMs: 120_000, envs: { GREETING: "hi" }, metadata: { suite: "e2b-test" } });
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
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
    const [m] = await sbx.getMetrics();
    assert.ok(m, "one sample");
    assert.ok(m.memTotal > 0 && m.cpuCount >= 1 && m.timestamp instanceof Date, JSON.stringify(m));
    assert.ok(m.cpuUsedPct >= 0 && m.cpuUsedPct <= 100);
  });

  it("runs commands as user `user` in /home/user, with the sandbox's envs, exit codes and CommandExitError", async () => {
    const r = await sbx.commands.run("echo $GREETING; whoami; pwd; echo $HOME");
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, "hi\nuser\n/home/user\n/home/user\n");
    const root = await sbx.commands.run("whoami", { user: "root" });
    assert.equal(root.stdout, "root\n");
    // The home was made from /etc/skel as useradd makes it: the same files, modes, times and contents, the user's own.
    const listing = (dir: string, owner: string) => `cd ${dir} && find . -mindepth 1 -printf '%P %y %m %TY%Tm%Td%TH%TM %u\\n' | sed 's/ [^ ]*$/ ${owner}/' | LC_ALL=C sort`;
    const home = await sbx.commands.run(`${listing("/home/user", "X")}; find /home/user -mindepth 1 ! -user user | wc -l`, { user: "root" });
    const skel = await sbx.commands.run(`${listing("/etc/skel", "X")}; echo 0`, { user: "root" });
    assert.equal(home.stdout, skel.stdout);
    assert.match(home.stdout, /^\.bashrc f /m);
    assert.equal((await sbx.commands.run("cmp /etc/skel/.bashrc /home/user/.bashrc && echo same")).stdout, "same\n");
    // The runtime switches to the user itself (no setpriv before the command): the same ids and groups setpriv gives.
    await sbx.commands.run("groupadd -f extra && usermod -aG extra user", { user: "root" });
    const ids = await sbx.commands.run("id; cat /proc/$$/status | grep -E '^(Uid|Gid)'");
    const viaSetpriv = await sbx.commands.run("setpriv --reuid=user --regid=user --init-groups sh -c 'id; grep -E \"^(Uid|Gid)\" /proc/$$/status'", { user: "root" });
    assert.equal(ids.stdout, viaSetpriv.stdout);
    assert.match(ids.stdout, /groups=.*\(extra\)/);
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
  it("answers getHost(port) with a host Burrow's preview proxy serves (the token in the name is the credential)", async () => {
    const server = await sbx.commands.run("echo served > /tmp/index.html && exec python3 -m http.server 8123 --bind 127.0.0.1 --directory /tmp", { background: true, user: "root" });
    const host = sbx.getHost(8123);
    assert.match(host, new RegExp(`^8123-${sbx.sandboxId}\\.[a-f0-9]{24}\\.localhost:${srv.port}$`));
    const get = (h: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port: srv.port, path: "/index.html", headers: { host: h } }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d)).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject).end();
      });
    let r = await get(host);
    const deadline = Date.now() + 10_000;
    while (r.status !== 200 && Date.now() < deadline) r = await get(host); // until the server listens
    assert.equal(r.status, 200);
    assert.equal(r.body, "served\n");
    // Another token in the name is not a preview: it falls to the admin API, which wants the bearer.
    assert.equal((await get(host.replace(/\.[a-f0-9]{24}\./, ".000000000000000000000000."))).status, 401);
    await server.kill();
  });

  it("opens a PTY: input, resize, output as it happens, kill", async () => {
    let out = "";
    const term = await sbx.pty.create({ cols: 100, rows: 30, onData: (d) => void (out += new TextDecoder().decode(d)) });
    await sbx.pty.sendInput(term.pid, new TextEncoder().encode("stty size; whoami; tty\n"));
    await until(() => /30 100/.test(out) && /\buser\b/.test(out) && /\/dev\/pts\//.test(out), 5000, `the PTY's answer (got ${JSON.stringify(out)})`);
    await sbx.pty.resize(term.pid, { cols: 120, rows: 40 });
    await sbx.pty.sendInput(term.pid, new TextEncoder().encode("stty size\n"));
    await until(() => /40 120/.test(out), 5000, `the new size (got ${JSON.stringify(out.slice(-200))})`);
    let seen = "";
    const again = await sbx.pty.connect(term.pid, { onData: (d) => void (seen += new TextDecoder().decode(d)) });
    assert.equal(again.pid, term.pid);
    await sbx.pty.sendInput(term.pid, new TextEncoder().encode("echo reattached-$((6*7))\n"));
    await until(() => seen.includes("reattached-42"), 5000, "output on the reconnected handle");
    await again.disconnect();
    assert.equal(await sbx.pty.kill(term.pid), true);
    await assert.rejects(term.wait());
  });

  it("writes, reads, lists and describes files as the user, relative paths from /home/user", async () => {
    const info = await sbx.files.write("notes/hello.txt", "hello e2b");
    assert.equal(info.path, "/home/user/notes/hello.txt");
    assert.equal(await sbx.files.read("notes/hello.txt"), "hello e2b");
    const bytes = await sbx.files.read("/home/user/notes/hello.txt", { format: "bytes" });
    assert.equal(Buffer.from(bytes).toString(), "hello e2b");
    const blob = await sbx.files.read("notes/hello.txt", { format: "blob" });
    assert.equal(await blob.text(), "hello e2b");
    const st = await sbx.files.getInfo("notes/hello.txt");
    assert.equal(st.type, "file");
    assert.equal(st.size, 9);
    assert.equal(st.mode, 0o644);
    assert.equal(st.permissions, "-rw-r--r--");
    assert.equal(st.owner, "user");
    assert.equal(st.group, "user");
    assert.ok(st.modifiedTime instanceof Date);
    // Many files at once, bytes too; then a listing with depth.
    await sbx.files.write([
      { path: "notes/a.txt", data: "A" },
      { path: "notes/sub/b.bin", data: new Uint8Array([0, 1, 2, 255]).buffer },
    ]);
    const b = await sbx.files.read("notes/sub/b.bin", { format: "bytes" });
    assert.deepEqual([...b], [0, 1, 2, 255]);
    const top = await sbx.files.list("notes");
    assert.deepEqual(top.map((e) => `${e.name}:${e.type}`).sort(), ["a.txt:file", "hello.txt:file", "sub:dir"]);
    const deep = await sbx.files.list("notes", { depth: 2 });
    assert.ok(deep.some((e) => e.path === "/home/user/notes/sub/b.bin"));
    assert.equal(await sbx.files.exists("notes/a.txt"), true);
    assert.equal(await sbx.files.exists("notes/none.txt"), false);
    await assert.rejects(sbx.files.read("notes/none.txt"), FileNotFoundError);
    await assert.rejects(sbx.files.getInfo("notes/none.txt"), FileNotFoundError);
    // The user's own commands see and own them.
    const ls = await sbx.commands.run("stat -c '%U %s' notes/hello.txt && echo more >> notes/hello.txt");
    assert.equal(ls.stdout, "user 9\n");
    assert.equal(await sbx.files.makeDir("notes/dir/nested"), true);
    assert.equal(await sbx.files.makeDir("notes/dir/nested"), false);
    const moved = await sbx.files.rename("notes/a.txt", "notes/dir/a.txt");
    assert.equal(moved.path, "/home/user/notes/dir/a.txt");
    await sbx.files.remove("notes/dir");
    await sbx.files.remove("notes/never-was"); // envd removes like rm -rf
    assert.equal(await sbx.files.exists("notes/dir"), false);
  });

  it("streams a large file both ways (octet-stream upload, streamed download)", async () => {
    const size = 10 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) data.writeUInt32BE(i, i);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < size; i += 1024 * 1024) c.enqueue(data.subarray(i, i + 1024 * 1024));
        c.close();
      },
    });
    await sbx.files.write("big.bin", stream);
    await sbx.files.write("packed.txt", "sent gzipped", { gzip: true });
    assert.equal(await sbx.files.read("packed.txt", { gzip: true }), "sent gzipped");
    const back = await sbx.files.read("big.bin", { format: "stream" });
    const chunks: Uint8Array[] = [];
    for await (const c of back as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    assert.ok(Buffer.concat(chunks).equals(data), "the same 10 MiB came back");
    // Bytes (not a stream) go as multipart unless asked for octet-stream; both land whole.
    await sbx.files.write("multi.bin", data.buffer.slice(data.byteOffset, data.byteOffset + size) as ArrayBuffer);
    await sbx.files.write("octet.bin", data.buffer.slice(data.byteOffset, data.byteOffset + size) as ArrayBuffer, { useOctetStream: true });
    for (const f of ["multi.bin", "octet.bin"]) assert.ok(Buffer.from(await sbx.files.read(f, { format: "bytes" })).equals(data), `${f} came back whole`);
  });

  it("watches a directory (and recursively) with E2B's event types", async () => {
    await sbx.files.makeDir("watched/inner");
    await sbx.files.write("watched/f.txt", "one");
    const events: string[] = [];
    const flat = await sbx.files.watchDir("watched", (e) => void events.push(`${e.type} ${e.name}`));
    await sbx.files.write("watched/f.txt", "two");
    await until(() => events.includes("write f.txt"), 5000, `a write event (got ${events.join(", ")})`);
    await flat.stop();
    const deep: string[] = [];
    const rec = await sbx.files.watchDir("watched", (e) => void deep.push(`${e.type} ${e.name}`), { recursive: true });
    await sbx.commands.run("echo x > watched/inner/new.txt && rm watched/f.txt");
    await until(() => deep.includes("create inner/new.txt") && deep.includes("remove f.txt"), 5000, `recursive events (got ${deep.join(", ")})`);
    await rec.stop();
    await assert.rejects(sbx.files.watchDir("no-such-dir", () => {}), FileNotFoundError);
  });

  it("lists sandboxes by metadata with pages, sets the timeout, pauses (sleep) and connects (wake)", async () => {
    const other = await Sandbox.create("base", { metadata: { suite: "e2b-test", role: "second" } });
    try {
      const found = await Sandbox.list({ query: { metadata: { role: "second" } } }).nextItems();
      assert.deepEqual(found.map((s) => s.sandboxId), [other.sandboxId]);
      const pager = Sandbox.list({ query: { metadata: { suite: "e2b-test" } }, limit: 1 });
      const ids: string[] = [];
      while (pager.hasNext) ids.push(...(await pager.nextItems()).map((s) => s.sandboxId));
      assert.deepEqual(ids.sort(), [sbx.sandboxId, other.sandboxId].sort());

      await other.setTimeout(45_000);
      assert.equal((await srv.burrow.sandbox(other.sandboxId).info()).sleepAfter, 45);
      await other.files.write("/home/user/kept.txt", "still here");
      assert.equal(await other.pause(), true);
      assert.equal((await srv.burrow.sandbox(other.sandboxId).info()).state, "sleeping");
      assert.equal(await other.isRunning(), false);
      assert.equal(await other.pause(), false); // already paused
      const paused = await Sandbox.list({ query: { state: ["paused"] } }).nextItems();
      assert.ok(paused.some((s) => s.sandboxId === other.sandboxId));
      const woken = await Sandbox.connect(other.sandboxId);
      assert.equal(await woken.isRunning(), true);
      assert.equal(await woken.files.read("/home/user/kept.txt"), "still here");
    } finally {
      assert.equal(await other.kill(), true);
    }
    assert.equal(await Sandbox.kill(other.sandboxId), false);
    await assert.rejects(other.commands.run("true"), (e: unknown) => e instanceof SandboxNotFoundError || e instanceof TimeoutError);
    assert.equal(await other.isRunning(), false);
    await assert.rejects(Sandbox.connect(other.sandboxId), NotFoundError);
    await assert.rejects(srv.burrow.sandbox(other.sandboxId).info());
  });

  it("maps E2B's timeout onto Burrow's sleep: idle past it, the sandbox sleeps with its disk; a call wakes it", async () => {
    const short = await Sandbox.create("base", { timeoutMs: 1000 });
    try {
      await short.files.write("state.txt", "kept");
      const deadline = Date.now() + 10_000;
      while ((await short.isRunning()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await srv.burrow.sandbox(short.sandboxId).info()).state, "sleeping");
      assert.equal((await short.getInfo()).state, "paused");
      assert.equal((await short.commands.run("cat state.txt")).stdout, "kept");
    } finally {
      await short.kill();
    }
  });

  it("refuses a wrong API key with E2B's 401 and a wrong sandbox token", async () => {
    await assert.rejects(Sandbox.create("base", { apiKey: "not-the-token" }), /401|API key/i);
    const res = await fetch(`${srv.url}/e2b/process.Process/List`, {
      method: "POST",
      headers: { "content-type": "application/json", "e2b-sandbox-id": sbx.sandboxId, "x-access-token": "forged" },
      body: "{}",
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, "unauthenticated");
  });

  it("answers malformed Connect envelopes and bodies with 4xx and keeps serving", async () => {
    const token = (await (await fetch(`${srv.url}/e2b/sandboxes/${sbx.sandboxId}`, { headers: { "x-api-key": srv.token } })).json()) as { envdAccessToken: string };
    const h = { "e2b-sandbox-id": sbx.sandboxId, "x-access-token": token.envdAccessToken };
    const bad = [
      await fetch(`${srv.url}/e2b/process.Process/Start`, { method: "POST", headers: { ...h, "content-type": "application/connect+json" }, body: "garbage" }),
      await fetch(`${srv.url}/e2b/process.Process/Start`, { method: "POST", headers: { ...h, "content-type": "application/json" }, body: "{}" }),
      await fetch(`${srv.url}/e2b/filesystem.Filesystem/Stat`, { method: "POST", headers: { ...h, "content-type": "application/json" }, body: "{not json" }),
      await fetch(`${srv.url}/e2b/filesystem.Filesystem/Stat`, { method: "POST", headers: { ...h, "content-type": "application/json" }, body: '{"path": 5}' }),
      await fetch(`${srv.url}/e2b/files?path=x`, { method: "POST", headers: { ...h, "content-type": "text/plain" }, body: "x" }),
      await fetch(`${srv.url}/e2b/files?path=x.gz`, { method: "POST", headers: { ...h, "content-type": "application/octet-stream", "content-encoding": "gzip" }, body: "not gzip at all" }),
      // Multipart bodies that are cut short, or have no boundary or no file part: nothing is written.
      await fetch(`${srv.url}/e2b/files?path=cut.txt`, { method: "POST", headers: { ...h, "content-type": "multipart/form-data; boundary=XyZ" }, body: '--XyZ\r\ncontent-disposition: form-data; name="file"; filename="cut.txt"\r\n\r\nhalf of it' }),
      await fetch(`${srv.url}/e2b/files?path=nb.txt`, { method: "POST", headers: { ...h, "content-type": "multipart/form-data" }, body: "--x\r\n\r\n--x--" }),
      await fetch(`${srv.url}/e2b/files?path=nf.txt`, { method: "POST", headers: { ...h, "content-type": "multipart/form-data; boundary=b" }, body: '--b\r\ncontent-disposition: form-data; name="note"\r\n\r\nhi\r\n--b--\r\n' }),
    ];
    for (const r of bad) assert.ok(r.status >= 400 && r.status < 500, `${r.url}: ${r.status}`);
    for (const f of ["cut.txt", "nb.txt", "nf.txt"]) assert.equal(await sbx.files.exists(f), false, `${f} was left behind`);
    // Random messages of every RPC (fast-check's JSON values): refusals are 4xx, or an error in the
    // end-of-stream envelope of a stream; never a 5xx, and nothing crashes the server.
    const values = fc.sample(fc.jsonValue({ maxDepth: 3 }), 12).concat([{ path: "\u0000" }, { path: "../../etc/passwd" }, { process: { pid: -1 } }, { process: { cmd: "" } }]);
    const methods = ["process.Process/List", "process.Process/SendInput", "process.Process/SendSignal", "process.Process/CloseStdin", "process.Process/Update",
      "filesystem.Filesystem/Stat", "filesystem.Filesystem/ListDir", "filesystem.Filesystem/MakeDir", "filesystem.Filesystem/Move", "filesystem.Filesystem/Remove"];
    for (const m of methods)
      for (const v of values) {
        const r = await fetch(`${srv.url}/e2b/${m}`, { method: "POST", headers: { ...h, "content-type": "application/json" }, body: JSON.stringify(v) });
        assert.ok(r.status < 500, `${m} ${JSON.stringify(v)}: ${r.status} ${await r.text()}`);
        await r.arrayBuffer().catch(() => {});
      }
    for (const m of ["process.Process/Start", "process.Process/Connect", "filesystem.Filesystem/WatchDir"])
      for (const v of values) {
        const json = Buffer.from(JSON.stringify(v));
        const env = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), json]);
        env.writeUInt32BE(json.length, 1);
        const r = await fetch(`${srv.url}/e2b/${m}`, { method: "POST", headers: { ...h, "content-type": "application/connect+json", "connect-timeout-ms": "2000" }, body: env });
        const body = Buffer.from(await r.arrayBuffer());
        assert.ok(r.status < 500, `${m} ${JSON.stringify(v)}: ${r.status}`);
        if (r.status !== 200) continue;
        // A stream of envelopes whose last one is the end of the stream (flag 0x02).
        let at = 0;
        let lastFlag = -1;
        while (at + 5 <= body.length) {
          lastFlag = body[at]!;
          at += 5 + body.readUInt32BE(at + 1);
        }
        assert.equal(at, body.length, `${m}: whole envelopes`);
        assert.equal(lastFlag, 2, `${m}: ends with an end-of-stream envelope`);
      }

    assert.equal((await sbx.commands.run("echo alive", { cwd: "/" })).stdout, "alive\n");
  });
});

describe("@e2b/code-interpreter against Burrow", () => {
  let srv: TestServer;
  let ci: CodeInterpreter;
  before(async () => {
    srv = await server();
    ci = await CodeInterpreter.create(); // template code-interpreter-v1
  });
  after(async () => {
    await ci?.kill().catch(() => {});
  });

  it("runs Python with results, streamed output and errors; state persists in the default context", async () => {
    const out: string[] = [];
    const results: unknown[] = [];
    const first = await ci.runCode("import os\nx = 40\nprint('side', os.getcwd())\nx + 2", { onStdout: (m) => void out.push(m.line), onResult: (r) => void results.push(r) });
    assert.equal(first.text, "42");
    // Output comes in the chunks the interpreter wrote.
    assert.equal(first.logs.stdout.join(""), "side /home/user\n");
    assert.equal(out.join(""), "side /home/user\n");
    assert.equal(results.length, 1);
    assert.equal(first.results[0]!.isMainResult, true);
    assert.equal((await ci.runCode("x")).text, "40");
    const err = await ci.runCode("1/0");
    assert.equal(err.error?.name, "ZeroDivisionError");
    assert.match(err.error!.value, /division by zero/);
    assert.match(err.error!.traceback, /ZeroDivisionError/);
    const chart = await ci.runCode("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()");
    const png = chart.results.find((r) => r.png);
    assert.ok(png, `a PNG result among ${JSON.stringify(chart.results.map((r) => r.formats()))}`);
    assert.equal(Buffer.from(png!.png!, "base64").subarray(1, 4).toString(), "PNG");
    const html = await ci.runCode("import pandas as pd\npd.DataFrame({'a': [1, 2]})");
    assert.match(html.results[0]!.html ?? "", /<table/);
  });

  it("creates, lists, restarts and removes code contexts; JavaScript too", async () => {
    const ctx = await ci.createCodeContext({ language: "python" });
    await ci.runCode("y = 7", { context: ctx });
    assert.equal((await ci.runCode("y * 6", { context: ctx })).text, "42");
    assert.equal((await ci.runCode("y", {})).error?.name, "NameError"); // the default context is another one
    assert.ok((await ci.listCodeContexts()).some((c) => c.id === ctx.id));
    await ci.restartCodeContext(ctx);
    assert.equal((await ci.runCode("y", { context: ctx })).error?.name, "NameError");
    await ci.removeCodeContext(ctx.id);
    assert.ok(!(await ci.listCodeContexts()).some((c) => c.id === ctx.id));
    const js = await ci.runCode("const a = [1, 2, 3]; a.map((v) => v * 2)", { language: "js" });
    assert.equal(js.error, undefined);
    assert.match(js.text ?? "", /2.*4.*6/);
  });
});
