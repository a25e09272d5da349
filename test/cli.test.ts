import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const CLI = new URL("../dist/cli.js", import.meta.url).pathname;

describe("burrow CLI", () => {
  let srv: TestServer;
  const run = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [CLI, ...args], { env: { ...process.env, BURROW_URL: srv.url, BURROW_TOKEN: srv.token } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.cleanup());

  it("exec streams output and exits with the command's code", async () => {
    const id = name("cli");
    const r = await run(["exec", id, "--", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert.equal(r.code, 7);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    const s = await run(["exec", id, "--cwd", "/tmp", "--", "pwd"]);
    assert.equal(s.stdout, "/tmp\n");
  });

  it("ls lists sandboxes with their state", async () => {
    const id = name("cli-ls");
    await srv.burrow.sandbox(id).exec("true");
    const r = await run(["ls"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`${id}\\s+running\\s+default`));
  });

  it("cp copies files in and out", async () => {
    const id = name("cli-cp");
    const dir = mkdtempSync(join(tmpdir(), "burrow-cli-"));
    writeFileSync(join(dir, "in.txt"), "from the host\n");
    assert.equal((await run(["cp", join(dir, "in.txt"), `${id}:/workspace/in.txt`])).code, 0);
    assert.equal((await srv.burrow.sandbox(id).readFile("/workspace/in.txt")).content, "from the host\n");
    assert.equal((await run(["cp", `${id}:/workspace/in.txt`, join(dir, "out.txt")])).code, 0);
    assert.equal(readFileSync(join(dir, "out.txt"), "utf8"), "from the host\n");
    const piped = await run(["cp", "-", `${id}:/workspace/piped.txt`], "piped\n");
    assert.equal(piped.code, 0);
    assert.equal((await run(["cp", `${id}:/workspace/piped.txt`, "-"])).stdout, "piped\n");
    rmSync(dir, { recursive: true, force: true });
  });

  it("sh opens an interactive terminal: raw keys, resize on SIGWINCH, the shell's exit code", async () => {
    const id = name("cli-sh");
    const pty = await import("node-pty");
    const term = pty.spawn(process.execPath, [CLI, "sh", id], {
      cols: 90,
      rows: 20,
      env: { ...process.env, BURROW_URL: srv.url, BURROW_TOKEN: srv.token } as Record<string, string>,
    });
    let out = "";
    term.onData((d) => (out += d));
    const exited = new Promise<number>((r) => term.onExit(({ exitCode }) => r(exitCode)));
    const waitFor = async (re: RegExp) => {
      const t = Date.now();
      while (!re.test(out)) {
        if (Date.now() - t > 10_000) throw new Error(`never saw ${re} in: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor(/\/workspace# $/m);
    term.write("stty size\r");
    await waitFor(/20 90/);
    term.resize(120, 33);
    term.write("stty size\r");
    await waitFor(/33 120/);
    // Raw mode: Ctrl-C reaches the shell in the sandbox instead of killing the CLI.
    term.write("sleep 30\r");
    await new Promise((r) => setTimeout(r, 300));
    term.write("\x03");
    term.write("echo after-ctrl-c\r");
    await waitFor(/^after-ctrl-c/m);
    term.write("exit 5\r");
    assert.equal(await exited, 5);
  });

  it("sleep and rm work, and errors are readable", async () => {
    const id = name("cli-rm");
    await srv.burrow.sandbox(id).exec("true");
    assert.match((await run(["sleep", id])).stdout, /asleep/);
    assert.equal((await srv.burrow.get(id)).state, "sleeping");
    assert.equal((await run(["rm", id])).code, 0);
    const again = await run(["rm", id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /SANDBOX_NOT_FOUND/);
    const usage = await run(["bogus"]);
    assert.equal(usage.code, 2);
  });
});
