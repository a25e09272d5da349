import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { run, setTracingDisabled } from "@openai/agents";
import { filesystem, Manifest, SandboxAgent, shell } from "@openai/agents/sandbox";
import { CloudflareSandboxClient, type CloudflareSandboxSession } from "@openai/agents-extensions/sandbox/cloudflare";
import { calcManifest, fixCalcModel } from "./fixtures/openai-sandbox-agent.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const outputOf = (answer: string) => answer.split("\nOutput:\n")[1] ?? "";

/** The unmodified CloudflareSandboxClient of @openai/agents-extensions, pointed at Burrow's /cf bridge. */
describe("Cloudflare bridge: the unmodified CloudflareSandboxClient runs a SandboxAgent on Burrow", () => {
  let srv: TestServer;
  let client: CloudflareSandboxClient;
  before(async () => {
    setTracingDisabled(true);
    srv = await startTestServer();
    client = new CloudflareSandboxClient({ workerUrl: `${srv.url}/cf`, apiKey: srv.token });
  });
  after(() => srv.cleanup());

  it("runs the same scenario: exec_command, a PTY driven by write_stdin, file edits; then deletes its sandbox", async () => {
    const manifest = calcManifest();
    const session = (await client.create({ manifest })) as CloudflareSandboxSession;
    const id = session.state.sandboxId;
    assert.match(id, /^cf-[0-9a-f]{12}$/);
    assert.deepEqual((await srv.burrow.get(id)).labels, { "burrow.bridge": "cloudflare" });

    const seen: string[] = [];
    const model = fixCalcModel(seen);
    const agent = new SandboxAgent({ name: "coder", instructions: "Make the tests pass.", model, capabilities: [shell(), filesystem()] });
    // A session handed to the run stays open after it, so the files can be checked.
    const result = await run(agent, "Make the tests pass", { sandbox: { session }, maxTurns: 20 });
    assert.equal(result.finalOutput, "tests pass");
    assert.match(outputOf(seen[0]!), /^calc\nFAILED \(failures=1\)/);
    assert.match(seen[1]!, /completed/);
    assert.equal(outputOf(seen[2]!).trim(), "OK");
    assert.match(seen[3]!, /Process running with session ID \d+/);
    assert.match(outputOf(seen[4]!), /42\r\n>>> $/, "the PTY runs the interpreter");
    assert.equal((await srv.burrow.sandbox(id).readFile("/workspace/calc.py")).content, "def add(a, b):\n    return a + b  # fixed\n");

    assert.equal(await session.running(), true);
    await session.close();
    assert.equal(await session.running(), false, "close deleted the sandbox");
    await assert.rejects(srv.burrow.get(id));
  });

  it("files, persist in one sandbox and hydrate into another, resume by state, mounts refused", async () => {
    const a = (await client.create({ manifest: new Manifest({ entries: { "d/f.txt": { type: "file", content: "kept" } } }) })) as CloudflareSandboxSession;
    const b = (await client.create({})) as CloudflareSandboxSession;
    try {
      assert.equal(Buffer.from(await a.readFile({ path: "d/f.txt" })).toString(), "kept");
      assert.equal(await a.pathExists("d/f.txt"), true);
      assert.equal(await a.pathExists("d/none"), false);
      await assert.rejects(a.readFile({ path: "missing.txt" }), /not found/);
      const archive = await a.persistWorkspace();
      await b.execCommand({ cmd: "echo old > old.txt" });
      await b.hydrateWorkspace(archive);
      assert.equal(outputOf(await b.execCommand({ cmd: "cat d/f.txt; echo; ls" })), "kept\nd");
      // A live session resumes from its state (the client refuses serialised state from elsewhere, by design).
      const again = await client.resume(b.state);
      assert.equal(outputOf(await again.execCommand({ cmd: "cat d/f.txt" })), "kept");
      await assert.rejects(a.mountBucket({ bucket: "b", mountPath: "/workspace/m", options: {} as never }), (e: Error & { details?: { reason?: string } }) => /not supported/.test(e.details?.reason ?? ""));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("bad input gets Burrow's stable codes, with the message in `error` for the Cloudflare client", async () => {
    const api = (method: string, path: string, body?: BodyInit, type = "application/json") =>
      fetch(`${srv.url}/cf/v1/sandbox${path}`, { method, body, headers: { authorization: `Bearer ${srv.token}`, "content-type": type } });
    const unknown = await api("POST", "/cf-000000000000/exec", JSON.stringify({ argv: ["true"] }));
    assert.equal(unknown.status, 404);
    const ub = (await unknown.json()) as { code: string; message: string; error: string };
    assert.equal(ub.code, "SANDBOX_NOT_FOUND");
    assert.equal(ub.error, ub.message);
    assert.equal((await api("GET", "/cf-000000000000/running")).status, 404);
    assert.equal(((await (await api("POST", "/Bad_Id/exec", "{}")).json()) as { code: string }).code, "INVALID_SANDBOX_ID");
    assert.equal(((await (await api("POST", "", JSON.stringify({ mounts: [{ bucket: "b" }] }))).json()) as { code: string }).code, "NOT_SUPPORTED");

    const created = (await (await api("POST", "", "{}")).json()) as { id: string };
    try {
      const bad = await api("POST", `/${created.id}/exec`, JSON.stringify({ argv: [] }));
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: string }).error, /argv/);
      assert.equal(((await (await api("POST", `/${created.id}/exec`, "{not json")).json()) as { code: string }).code, "INVALID_JSON");
      // The exec stream: base64 output events, then exit.
      const stream = await (await api("POST", `/${created.id}/exec`, JSON.stringify({ argv: ["/bin/sh", "-c", "echo hi; echo oops >&2; exit 4"] }))).text();
      assert.match(stream, new RegExp(`event: stdout\ndata: ${Buffer.from("hi\n").toString("base64")}\n\n`));
      assert.match(stream, new RegExp(`event: stderr\ndata: ${Buffer.from("oops\n").toString("base64")}\n\n`));
      assert.match(stream, /event: exit\ndata: \{"exit_code":4\}/);
      // Files by path, raw bytes.
      assert.equal((await api("PUT", `/${created.id}/file/workspace/sub/x.bin`, new Uint8Array([0, 1, 255]), "application/octet-stream")).status, 200);
      assert.deepEqual(new Uint8Array(await (await api("GET", `/${created.id}/file/workspace/sub/x.bin`)).arrayBuffer()), new Uint8Array([0, 1, 255]));
      assert.equal(((await (await api("GET", `/${created.id}/file/workspace/none`)).json()) as { code: string }).code, "FILE_NOT_FOUND");
      // A corrupt archive is refused whole; the workspace keeps its files.
      const corrupt = await api("POST", `/${created.id}/hydrate`, new Uint8Array(1024).fill(65), "application/octet-stream");
      assert.equal(corrupt.status, 422);
      assert.equal(((await corrupt.json()) as { code: string }).code, "ARCHIVE_CORRUPT");
      assert.equal((await api("GET", `/${created.id}/file/workspace/sub/x.bin`)).status, 200);
      assert.equal(((await (await api("POST", `/${created.id}/persist?excludes=${encodeURIComponent("../etc")}`)).json()) as { code: string }).code, "INVALID_PATH");
      // The PTY is a WebSocket; a plain GET is told so, an upgrade without the token is refused.
      assert.equal(((await (await api("GET", `/${created.id}/pty`)).json()) as { code: string }).code, "UPGRADE_REQUIRED");
      const status = await new Promise<number>((resolve) => {
        const req = request({ host: "127.0.0.1", port: srv.port, path: `/cf/v1/sandbox/${created.id}/pty`, headers: { connection: "upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } });
        req.on("response", (res) => resolve(res.statusCode!));
        req.on("upgrade", () => resolve(101));
        req.end();
      });
      assert.equal(status, 401);
    } finally {
      assert.equal((await api("DELETE", `/${created.id}`)).status, 200);
    }
    assert.equal((await api("DELETE", `/${created.id}`)).status, 404);
  });
});
