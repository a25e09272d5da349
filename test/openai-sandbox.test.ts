import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, setTracingDisabled } from "@openai/agents";
import { filesystem, Manifest, SandboxAgent, SandboxArchiveError, shell } from "@openai/agents/sandbox";
import { ScriptedModel, assistantMessage, functionCall, modelResponder } from "@openai/agents/testing";
import { BurrowSandboxClient, type BurrowSandboxSession } from "../src/openai/index.js";
import { calcManifest, FIX_CALC, lastToolOutput, recordingStep, resumableAgent } from "./fixtures/openai-sandbox-agent.js";
import { startGitServer, type GitServer } from "./helpers/git-server.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const ROOT = new URL("..", import.meta.url).pathname;
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC", "base64");

/** The output text of an exec_command / write_stdin answer. */
const outputOf = (answer: string) => answer.split("\nOutput:\n")[1] ?? "";

describe("BurrowSandboxClient: the OpenAI Agents SDK's SandboxAgent on Burrow (scripted model, real sandboxes)", () => {
  let srv: TestServer;
  let git: GitServer;
  let client: BurrowSandboxClient;
  const sessions: BurrowSandboxSession[] = [];
  const session = async (manifest?: Manifest, options: Record<string, unknown> = {}) => {
    const s = await client.create({ manifest, options });
    sessions.push(s);
    return s;
  };

  before(async () => {
    setTracingDisabled(true);
    git = await startGitServer({ user: "bot", token: "tok" });
    srv = await startTestServer({ env: { BURROW_EGRESS_ALLOW: `host.burrow.internal:${git.port}` } });
    client = new BurrowSandboxClient({ url: srv.url, token: srv.token });
  });
  after(async () => {
    for (const s of sessions) await s.delete().catch(() => {});
    await srv.cleanup();
    git.close();
  });

  it("runs a SandboxAgent: exec_command, write_stdin into a real PTY, and file edits through the filesystem capability", async () => {
    const seen: string[] = [];
    let ptySession = 0;
    const step = recordingStep(seen);
    const model = new ScriptedModel([
      step(0, () => functionCall("exec_command", { cmd: "cat README.md; echo $PROJECT; python3 -m unittest -q 2>&1 | tail -1" }, { callId: "c0" })),
      step(1, () => FIX_CALC),
      step(2, () => functionCall("exec_command", { cmd: "python3 -m unittest -q 2>&1 | tail -1", workdir: "." }, { callId: "c2" })),
      step(3, () => functionCall("exec_command", { cmd: "python3 -q -i", tty: true, yield_time_ms: 1500 }, { callId: "c3" })),
      step(4, () => {
        ptySession = Number(/session ID (\d+)/.exec(seen.at(-1)!)![1]);
        return functionCall("write_stdin", { session_id: ptySession, chars: "import calc; print(calc.add(40, 2))\n", yield_time_ms: 1500 }, { callId: "c4" });
      }),
      step(5, () => functionCall("write_stdin", { session_id: ptySession, chars: "exit()\n", yield_time_ms: 3000 }, { callId: "c5" })),
      step(6, () => assistantMessage("tests pass")),
    ]);
    const manifest = calcManifest({ "README.md": { type: "file", content: "calc: add two numbers\n" } });
    const agent = new SandboxAgent({ name: "coder", instructions: "Make the tests pass.", model, capabilities: [shell(), filesystem()], defaultManifest: manifest });
    // A named sandbox is left in place when the run ends, so its files can be checked afterwards.
    const result = await run(agent, "Make the tests pass", { sandbox: { client, options: { name: "oa-coder" } }, maxTurns: 20 });
    assert.equal(result.finalOutput, "tests pass");
    assert.match(seen[0]!, /Process exited with code 0/);
    assert.match(outputOf(seen[0]!), /^calc: add two numbers\ncalc\nFAILED \(failures=1\)/);
    assert.match(seen[1]!, /completed/, "the patch applied");
    assert.equal(outputOf(seen[2]!).trim(), "OK");
    assert.match(seen[3]!, /Process running with session ID \d+/);
    assert.match(outputOf(seen[3]!), />>> $/, "the PTY shows the interpreter's prompt, not the shell's");
    assert.match(outputOf(seen[4]!), /42\r\n>>> $/);
    assert.match(seen[5]!, /Process exited with code 0/);
    const sbx = srv.burrow.sandbox("oa-coder");
    assert.equal((await sbx.readFile("/workspace/calc.py")).content, "def add(a, b):\n    return a + b  # fixed\n");
    assert.equal((await sbx.readFile("/workspace/README.md")).content, "calc: add two numbers\n");
    await sbx.destroy();
  });

  it("exec: workdir inside the root, shell and login, yield with output so far, truncation with a note", async () => {
    const s = await session(new Manifest({ entries: { sub: { type: "dir", children: { "a.txt": { type: "file", content: "A" } } } } }));
    const r = await s.exec({ cmd: "pwd; cat a.txt; echo err >&2; exit 3", workdir: "sub" });
    assert.equal(r.exitCode, 3);
    assert.equal(r.stdout, "/workspace/sub\nA");
    assert.equal(r.stderr, "err\n");
    assert.equal((await s.exec({ cmd: "echo $0", shell: "/bin/sh", login: false })).stdout, "/bin/sh\n");
    assert.equal((await s.exec({ cmd: "shopt -q login_shell && echo login", shell: "/bin/bash", login: true })).stdout, "login\n");
    // Still running when the yield time is up: the output so far and a session to poll.
    const slow = await s.execCommand({ cmd: "echo first; sleep 1.5; echo second", yieldTimeMs: 400 });
    assert.match(slow, /Process running with session ID (\d+)/);
    assert.equal(outputOf(slow), "first\n");
    const id = Number(/session ID (\d+)/.exec(slow)![1]);
    const rest = await s.writeStdin({ sessionId: id, yieldTimeMs: 3000 });
    assert.match(rest, /Process exited with code 0/);
    assert.equal(outputOf(rest), "second\n");
    // Ctrl-C ends a non-tty command too.
    const loop = await s.execCommand({ cmd: "sleep 60", yieldTimeMs: 200 });
    const stopped = await s.writeStdin({ sessionId: Number(/session ID (\d+)/.exec(loop)![1]), chars: "\u0003", yieldTimeMs: 2000 });
    assert.match(stopped, /Process exited with code 130/);
    const big = await s.execCommand({ cmd: "seq 1 20000", maxOutputTokens: 100 });
    assert.match(big, /Original token count: \d+/);
    assert.match(big, /tokens truncated/);
    assert.match(big, /20000\n?$/, "the tail is kept");
    await assert.rejects(s.exec({ cmd: "true", workdir: "/etc" }), /escapes the workspace root/);
  });

  it("tty sessions are real PTYs: Ctrl-C interrupts with 130, isatty holds, the terminal goes with the command", async () => {
    const s = await session();
    const started = await s.execCommand({ cmd: "test -t 0 && echo tty; sleep 60", tty: true, yieldTimeMs: 500 });
    assert.match(started, /Process running with session ID (\d+)/);
    assert.equal(outputOf(started), "tty\r\n");
    const id = Number(/session ID (\d+)/.exec(started)![1]);
    const done = await s.writeStdin({ sessionId: id, chars: "\u0003", yieldTimeMs: 3000 });
    assert.match(done, /Process exited with code 130/);
    assert.match(await s.writeStdin({ sessionId: id, chars: "x" }), /session not found/);
    // A tty command left running is killed when the session stops.
    await s.execCommand({ cmd: "sleep 300", tty: true, yieldTimeMs: 300 });
    await s.stop();
    assert.equal((await s.exec({ cmd: "pgrep -x sleep || echo none" })).stdout.trim(), "none");
  });

  it("files: readFile, listDir, pathExists, viewImage hands an image back, paths outside the root are refused", async () => {
    const s = await session(new Manifest({ entries: { "img/dot.png": { type: "file", content: new Uint8Array(PNG) }, "notes.txt": { type: "file", content: "hi" } } }));
    assert.equal(Buffer.from(await s.readFile({ path: "notes.txt" })).toString(), "hi");
    assert.equal(Buffer.from(await s.readFile({ path: "/workspace/notes.txt", maxBytes: 1 })).toString(), "h");
    const listed = (await s.listDir({ path: "." })).sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(listed, [{ name: "img", path: "img", type: "dir" }, { name: "notes.txt", path: "notes.txt", type: "file" }]);
    assert.equal(await s.pathExists("img/dot.png"), true);
    assert.equal(await s.pathExists("nope"), false);
    const img = await s.viewImage({ path: "img/dot.png" });
    assert.equal(img.type, "image");
    assert.equal((img.image as { mediaType: string }).mediaType, "image/png");
    assert.deepEqual(Buffer.from((img.image as { data: Uint8Array }).data), PNG);
    await assert.rejects(s.viewImage({ path: "notes.txt" }), /Unsupported image format/);
    await assert.rejects(s.viewImage({ path: "missing.png" }), /not found/);
    await assert.rejects(s.readFile({ path: "/etc/passwd" }), /escapes the workspace root/);
    await assert.rejects(s.readFile({ path: "../etc/passwd" }), /must not escape root/);
    await assert.rejects(s.readFile({ path: "missing.txt" }), (e: Error) => e.constructor.name === "SandboxWorkspaceReadNotFoundError");
  });

  it("manifests: dir, file, local_file, local_dir and git_repo entries, environment, users and modes; entries added later", async () => {
    const local = mkdtempSync(join(tmpdir(), "oa-local-"));
    try {
      writeFileSync(join(local, "one.txt"), "one");
      mkdirSync(join(local, "deep", "er"), { recursive: true });
      writeFileSync(join(local, "deep", "er", "two.sh"), "echo two", { mode: 0o755 });
      const s = await session(
        new Manifest({
          entries: {
            "conf/app.json": { type: "file", content: '{"a":1}', permissions: "-rw-------" },
            src: { type: "local_dir", src: local },
            "single.txt": { type: "local_file", src: join(local, "one.txt") },
            repo: { type: "git_repo", repo: `${git.url}/public.git`, ref: "feature" },
            "only-file3.txt": { type: "git_repo", repo: `${git.url}/public.git`, subpath: "file3.txt" },
            shared: { type: "dir", group: { name: "devs" } },
          },
          environment: { API_BASE: "http://api.test", SECRET: { value: "s3", ephemeral: true } },
          users: ["alice"],
          groups: [{ name: "devs", users: ["alice"] }],
        }),
      );
      const r = await s.exec({
        cmd: "cat src/one.txt single.txt; sh src/deep/er/two.sh; stat -c %a src/deep/er/two.sh conf/app.json; cat repo/feature.txt only-file3.txt; echo $API_BASE $SECRET; id -nG alice; stat -c %G shared",
      });
      assert.equal(r.stdout, "oneonetwo\n755\n600\nfeature\ncommit 3\nhttp://api.test s3\nalice devs\ndevs\n");
      assert.equal((await s.exec({ cmd: "whoami", runAs: "alice" })).stdout, "alice\n");
      await s.materializeEntry({ path: "later.txt", entry: { type: "file", content: "later" } });
      await s.applyManifest(new Manifest({ entries: { "more/x.txt": { type: "file", content: "x" } }, environment: { EXTRA: "1" } }));
      assert.equal((await s.exec({ cmd: "cat later.txt more/x.txt; echo $EXTRA $API_BASE" })).stdout, "laterx1 http://api.test\n");
      assert.ok(s.state.manifest.entries["later.txt"] && s.state.manifest.entries["more/x.txt"], "the session's manifest lists the added entries");
      const serial = await client.serializeSessionState(s.state);
      assert.equal((serial.environment as Record<string, string>).SECRET, undefined, "ephemeral values are not serialised");
      assert.doesNotMatch(JSON.stringify(serial), new RegExp(srv.token), "the token is not in the state");
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  it("persists a workspace in one sandbox and hydrates it into another; a bad archive leaves the workspace as it was", async () => {
    const a = await session(new Manifest({ entries: { "cache/big.bin": { type: "file", content: "tmp", ephemeral: true } } }));
    await a.exec({ cmd: "mkdir -p d/e && echo kept > d/e/f.txt && ln -s d/e/f.txt link && printf x > .hidden" });
    const archive = await a.persistWorkspace();
    const b = await session();
    await b.exec({ cmd: "echo old > old.txt" });
    await b.hydrateWorkspace(archive);
    assert.equal((await b.exec({ cmd: "cat d/e/f.txt link .hidden; ls -A | sort | tr '\\n' ' '; test -e old.txt || echo gone" })).stdout, "kept\nkept\nx.hidden cache d link gone\n");
    // The ephemeral entry was left out of the archive (its directory came along).
    assert.equal((await b.exec({ cmd: "test -e cache/big.bin && echo there || echo absent" })).stdout, "absent\n");
    const before = (await b.exec({ cmd: "find . | sort" })).stdout;
    await assert.rejects(b.hydrateWorkspace(new Uint8Array(1536).fill(7)), SandboxArchiveError);
    await assert.rejects(b.hydrateWorkspace(archive, { archiveLimits: { maxMembers: 2 } }), /more than 2 members/);
    await assert.rejects(b.hydrateWorkspace(archive, { archiveLimits: { maxInputBytes: 1024 } }), /over the limit/);
    // A tar with a member outside the root is refused before anything is unpacked.
    const evil = mkdtempSync(join(tmpdir(), "oa-evil-"));
    writeFileSync(join(evil, "x"), "x");
    const evilTar = execFileSync("tar", ["-C", evil, "-cf", "-", "--transform", "s,^,../,", "x"]);
    rmSync(evil, { recursive: true });
    await assert.rejects(b.hydrateWorkspace(new Uint8Array(evilTar)), /".." segment/);
    assert.equal((await b.exec({ cmd: "find . | sort" })).stdout, before, "the workspace is unchanged");
  });

  it("publishes a port as a Burrow preview URL", async () => {
    const s = await session(undefined, { exposedPorts: [8000] });
    const ep = await s.resolveExposedPort(8000);
    assert.match(ep.url as string, /^http:\/\/8000-/);
    assert.equal(ep.port, srv.port);
    await assert.rejects(s.resolveExposedPort(9000), /not among the exposedPorts/);
  });

  it("sandbox options: image env, limits, sleepAfter, egress, fromSnapshot; a named sandbox outlives the session, a fresh one does not", async () => {
    const s = await session(undefined, { env: { FROM_OPTIONS: "yes" }, limits: { memoryMB: 256 }, sleepAfter: "5m", egress: { internet: false } });
    assert.equal((await s.exec({ cmd: "echo $FROM_OPTIONS" })).stdout, "yes\n");
    const info = await srv.burrow.get(s.state.sandboxId);
    assert.equal(info.limits.memoryMB, 256);
    assert.equal(info.sleepAfter, 300);
    assert.equal((await s.sandbox.getEgress()).internet, false);
    await s.exec({ cmd: "echo snap > marker.txt" });
    const snap = await s.sandbox.snapshot();
    const forked = await session(undefined, { fromSnapshot: snap.id });
    assert.equal((await forked.exec({ cmd: "cat marker.txt" })).stdout, "snap\n");
    await s.delete();
    await assert.rejects(srv.burrow.get(s.state.sandboxId), /no sandbox named/, "a fresh sandbox goes with its session");
    const named = await session(undefined, { name: "oa-kept" });
    await named.delete();
    assert.equal((await srv.burrow.get("oa-kept")).id, "oa-kept", "a named sandbox stays");
    await srv.burrow.sandbox("oa-kept").destroy();
  });

  it("a serialised RunState resumes in another process, after a server restart, on the same sandbox and disk", async () => {
    const model = new ScriptedModel([
      modelResponder(() => [functionCall("exec_command", { cmd: "echo built > state.txt" }, { callId: "a1" })]),
      modelResponder(() => [functionCall("deploy", { target: "prod" }, { callId: "a2" })]),
    ]);
    const first = await run(resumableAgent(model), "deploy it", { sandbox: { client } });
    assert.equal(first.interruptions.length, 1, "the run stopped for approval");
    const saved = first.state.toString();
    const sandboxId = (JSON.parse(saved) as { sandbox?: { sessionState?: { providerState?: { sandboxId?: string } } } }).sandbox?.sessionState?.providerState?.sandboxId;
    assert.match(sandboxId ?? "", /^oa-/);
    assert.doesNotMatch(saved, new RegExp(srv.token), "the RunState holds no token");

    await srv.stop();
    await srv.restart();
    const dir = mkdtempSync(join(tmpdir(), "oa-state-"));
    try {
      writeFileSync(join(dir, "state.json"), saved);
      const child = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "test/fixtures/openai-sandbox-agent.ts"), srv.url, srv.token, join(dir, "state.json")], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
      assert.equal(child.status, 0, child.stderr);
      const out = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as { finalOutput: string; seen: string[] };
      assert.equal(out.finalOutput, "resumed");
      assert.equal(out.seen[0], "deployed to prod", "the approved tool ran after the resume");
      assert.equal(outputOf(out.seen[1]!), `built\n${sandboxId}\n`, "the same sandbox, with its disk");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The resumed run owned the fresh sandbox and removed it at its end.
    await assert.rejects(srv.burrow.get(sandboxId!));
  });

  it("refuses clearly: an unknown sandbox on resume, SDK snapshot specs, mount entries", async () => {
    const state = await client.deserializeSessionState({ sandboxId: "oa-never-made", ownsSandbox: true, manifest: { root: "/workspace", entries: {} } });
    await assert.rejects(client.resume(state), /no longer exists/);
    await assert.rejects(client.deserializeSessionState({ sandboxId: "../x", manifest: {} }), /no valid sandboxId/);
    await assert.rejects(client.create({ snapshot: { type: "local" } as never }), /fromSnapshot/);
    await assert.rejects(client.create({ manifest: new Manifest({ entries: { data: { type: "s3_mount", bucket: "b" } } }) }), /does not mount/);
  });
});
