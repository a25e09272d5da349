import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import type { BurrowApiError, Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("files", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  let id: string;
  before(async () => {
    srv = await startTestServer();
    id = name("files");
    sbx = srv.burrow.sandbox(id);
  });
  after(() => srv.cleanup());

  it("writes text with parents created and reads it back with type and size", async () => {
    await sbx.writeFile("/workspace/a/b/c/hello.txt", "héllo\n");
    const f = await sbx.readFile("/workspace/a/b/c/hello.txt");
    assert.equal(f.content, "héllo\n");
    assert.equal(f.mimeType, "text/plain");
    assert.equal(f.size, Buffer.byteLength("héllo\n"));
    assert.equal((await sbx.exec("cat /workspace/a/b/c/hello.txt")).stdout, "héllo\n");
  });

  it("round-trips binary bytes exactly (sha-256), also as base64", async () => {
    const bytes = randomBytes(300_000);
    await sbx.writeFile("/workspace/bin.dat", bytes);
    const back = await sbx.readFile("/workspace/bin.dat", { encoding: "base64" });
    assert.equal(sha(Buffer.from(back.content, "base64")), sha(bytes));
    assert.equal((await sbx.exec("sha256sum /workspace/bin.dat")).stdout.split(" ")[0], sha(bytes));
    await sbx.writeFile("/workspace/b64.dat", bytes.toString("base64"), { encoding: "base64" });
    assert.equal((await sbx.exec("sha256sum /workspace/b64.dat")).stdout.split(" ")[0], sha(bytes));
  });

  it("streams a large file both ways with no size cap", async () => {
    const size = 64 * 1024 * 1024;
    const chunk = randomBytes(1024 * 1024);
    const hash = createHash("sha256");
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= size) return c.close();
        hash.update(chunk);
        c.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const w = await sbx.writeFile("/workspace/big.bin", body);
    assert.equal(w.size, size);
    const want = hash.digest("hex");
    const stream = await sbx.readFileStream("/workspace/big.bin");
    const h2 = createHash("sha256");
    let got = 0;
    for await (const c of stream as unknown as AsyncIterable<Uint8Array>) {
      h2.update(c);
      got += c.length;
    }
    assert.equal(got, size);
    assert.equal(h2.digest("hex"), want);
    await sbx.deleteFile("/workspace/big.bin");
  });

  it("keeps the mode given, and an existing file's mode on overwrite", async () => {
    await sbx.writeFile("/workspace/run.sh", "#!/bin/sh\necho ran\n", { mode: "755" });
    assert.equal((await sbx.exec("/workspace/run.sh")).stdout, "ran\n");
    await sbx.writeFile("/workspace/run.sh", "#!/bin/sh\necho again\n");
    assert.equal((await sbx.stat("/workspace/run.sh")).mode, "0755");
    assert.equal((await sbx.exec("/workspace/run.sh")).stdout, "again\n");
  });

  it("lists, recursively, with hidden files only on request", async () => {
    await sbx.writeFile("/workspace/tree/x.txt", "x");
    await sbx.writeFile("/workspace/tree/.hidden", "h");
    await sbx.writeFile("/workspace/tree/sub/y.txt", "y");
    const flat = await sbx.listFiles("/workspace/tree");
    assert.deepEqual(flat.map((f) => f.name), ["sub", "x.txt"]);
    const all = await sbx.listFiles("/workspace/tree", { recursive: true, includeHidden: true });
    assert.deepEqual(all.map((f) => f.path), ["/workspace/tree/.hidden", "/workspace/tree/sub", "/workspace/tree/sub/y.txt", "/workspace/tree/x.txt"]);
    assert.equal(all.find((f) => f.name === "sub")!.type, "directory");
  });

  it("stats, checks existence, makes directories, moves and renames", async () => {
    const st = await sbx.stat("/workspace/tree/x.txt");
    assert.equal(st.type, "file");
    assert.equal(st.size, 1);
    assert.equal(await sbx.exists("/workspace/tree/x.txt"), true);
    assert.equal(await sbx.exists("/workspace/nothing"), false);
    await sbx.mkdir("/workspace/m/n/o", { recursive: true });
    assert.equal((await sbx.stat("/workspace/m/n/o")).type, "directory");
    await sbx.renameFile("/workspace/tree/x.txt", "/workspace/tree/z.txt");
    await sbx.moveFile("/workspace/tree/sub", "/workspace/moved/sub");
    assert.equal(await sbx.exists("/workspace/tree/z.txt"), true);
    assert.equal((await sbx.readFile("/workspace/moved/sub/y.txt")).content, "y");
    await assert.rejects(sbx.moveFile("/workspace/tree/z.txt", "/workspace/tree/.hidden"), (e: BurrowApiError) => e.code === "FILE_EXISTS");
    // Directories that come from the image (a lower layer) move too.
    await sbx.moveFile("/usr/share/doc/git", "/workspace/gitdoc");
    assert.equal(await sbx.exists("/usr/share/doc/git"), false);
  });

  it("refuses to delete a directory unless asked recursively", async () => {
    await assert.rejects(sbx.deleteFile("/workspace/m"), (e: BurrowApiError) => e.code === "IS_A_DIRECTORY" && e.status === 409);
    await sbx.deleteFile("/workspace/m", { recursive: true });
    assert.equal(await sbx.exists("/workspace/m"), false);
  });

  it("answers missing files and bad paths with clear errors", async () => {
    await assert.rejects(sbx.readFile("/workspace/missing.txt"), (e: BurrowApiError) => e.code === "FILE_NOT_FOUND" && e.status === 404);
    await assert.rejects(sbx.readFile("relative/path"), (e: BurrowApiError) => e.code === "INVALID_PATH" && e.status === 400);
    await assert.rejects(sbx.readFile("/workspace"), (e: BurrowApiError) => e.code === "IS_A_DIRECTORY");
    await assert.rejects(sbx.listFiles("/workspace/tree/.hidden"), (e: BurrowApiError) => e.code === "NOT_A_DIRECTORY");
    const r = await srv.api("PUT", `/v1/sandboxes/${id}/files?path=/workspace/x&mode=999`, "x");
    assert.equal(r.status, 400);
  });

  it("leaves nothing behind when an upload is cut off", async () => {
    const ctl = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(1024 * 1024));
        setTimeout(() => ctl.abort(), 200);
      },
    });
    await assert.rejects(
      fetch(`${srv.url}/v1/sandboxes/${id}/files?path=/workspace/partial.bin`, {
        method: "PUT",
        headers: { authorization: `Bearer ${srv.token}` },
        body,
        signal: ctl.signal,
        duplex: "half",
      } as RequestInit),
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await sbx.exists("/workspace/partial.bin"), false);
    const leftovers = await sbx.exec("ls -a /workspace | grep burrow-upload || true");
    assert.equal(leftovers.stdout, "");
  });
  it("special files answer at once with a 4xx, and many of them cannot jam the files API", async () => {
    await sbx.exec("mkfifo /workspace/pipe && echo fine > /workspace/ordinary.txt");
    const get = async (path: string) => {
      const t0 = Date.now();
      const r = await srv.api("GET", `/v1/sandboxes/${id}/files?path=${encodeURIComponent(path)}`, undefined, {}, );
      return { status: r.status, body: await r.text(), ms: Date.now() - t0 };
    };
    // More than the runtime has I/O threads, of each kind that used to hang: a FIFO, /proc/<pid>/mem, a device.
    const special = ["/workspace/pipe", "/proc/self/mem", "/proc/1/mem", "/dev/zero"].flatMap((p) => Array.from({ length: 8 }, () => p));
    const answers = await Promise.all(special.map(get));
    for (const a of answers) {
      assert.equal(a.status, 400, a.body);
      assert.equal(JSON.parse(a.body).code, "NOT_A_FILE");
      assert.ok(a.ms < 5000, `answered in ${a.ms} ms`);
    }
    const ok = await get("/workspace/ordinary.txt");
    assert.equal(ok.status, 200);
    assert.equal(ok.body, "fine\n");
    // A kernel file that says size 0 still has content, read to its end.
    const status = await get("/proc/self/status");
    assert.equal(status.status, 200);
    assert.match(status.body, /^Name:/);
  });

  it("a file operation that outlives its deadline is answered with FILE_TIMEOUT", async () => {
    const { withDeadline } = await import("../src/runtime/deadline.js");
    await assert.rejects(withDeadline(new Promise(() => {}), "/slow", 50), (e: BurrowApiError) => e.code === "FILE_TIMEOUT" && /\/slow did not finish/.test(e.message));
    assert.equal(await withDeadline(Promise.resolve(7), "/fast", 50), 7);
  });
});
