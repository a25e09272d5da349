import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { Burrow, BurrowApiError } from "../src/client/node.js";
import { nodeFetch } from "../src/lib/node-fetch.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/*
 * The SDK over both of its transports: the node:http one that Node's entry
 * (`burrow/client` in Node) uses by default, and the global fetch it uses
 * everywhere else (and in Node when given). Each does the same calls against
 * a real server: buffered and streamed commands, bytes in and out as
 * streams, error answers, and a caller that leaves mid-stream.
 */
describe("the SDK's HTTP transports", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.cleanup());

  const transports: [string, (token?: string) => Burrow][] = [
    ["node:http (Node's default)", (token = srv.token) => new Burrow({ url: srv.url, token })],
    ["the global fetch", (token = srv.token) => new Burrow({ url: srv.url, token, fetch: globalThis.fetch })],
  ];

  for (const [label, make] of transports)
    describe(label, () => {
      it("runs commands buffered and streamed, and moves bytes both ways as streams", async () => {
        const sbx = make().sandbox(name("fetch"));
        const r = await sbx.exec("echo out; echo err >&2; exit 4");
        assert.deepEqual([r.stdout, r.stderr, r.exitCode], ["out\n", "err\n", 4]);
        const events: string[] = [];
        for await (const e of sbx.execStream("echo a; sleep 0.05; echo b")) events.push(e.type === "stdout" ? `stdout:${e.data.trim()}` : e.type);
        assert.deepEqual(events.filter((e) => e !== "start"), ["stdout:a", "stdout:b", "complete"]);

        // 3 MiB up as a stream of chunks, back as a stream, byte for byte.
        const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251);
        let sent = 0;
        const up = new ReadableStream<Uint8Array>({
          pull(c) {
            if (sent++ === 48) return c.close();
            c.enqueue(chunk);
          },
        });
        assert.equal((await sbx.writeFile("/workspace/big.bin", up)).size, 48 * chunk.length);
        const down = await sbx.readFileStream("/workspace/big.bin");
        let size = 0;
        let same = true;
        for await (const part of down as unknown as AsyncIterable<Uint8Array>) {
          for (let i = 0; i < part.length; i++) if (part[i] !== (size + i) % chunk.length % 251) same = false;
          size += part.length;
        }
        assert.equal(size, 48 * chunk.length);
        assert.ok(same, "the bytes read back differ from those written");
        assert.equal((await sbx.readFile("/workspace/big.bin", { encoding: "base64" })).content.length, Math.ceil((48 * chunk.length) / 3) * 4);
        await sbx.destroy();
      });

      it("turns error answers into BurrowApiError with the server's code", async () => {
        const sbx = make().sandbox(name("fetch-err"));
        await assert.rejects(sbx.readFile("/no/such/file"), (err: unknown) => err instanceof BurrowApiError && err.status === 404 && err.code === "FILE_NOT_FOUND");
        const wrong = make("not-the-token");
        await assert.rejects(wrong.sandbox(name("fetch-err")).exec("true"), (err: unknown) => err instanceof BurrowApiError && err.status === 401);
        await sbx.destroy();
      });

      it("stops a streamed command when the caller aborts, and the connection's next call still works", async () => {
        const sbx = make().sandbox(name("fetch-abort"));
        const stop = new AbortController();
        const seen: string[] = [];
        await assert.rejects(
          (async () => {
            for await (const e of sbx.execStream("echo ready; exec sleep 30", { signal: stop.signal })) {
              seen.push(e.type);
              if (e.type === "stdout") stop.abort();
            }
          })(),
          (err: Error) => err.name === "AbortError",
        );
        assert.ok(seen.includes("stdout"));
        // The server saw the caller leave and killed the command.
        let left = "";
        for (let i = 0; i < 50; i++) {
          left = (await sbx.exec("pgrep -x sleep || true")).stdout.trim();
          if (!left) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(left, "", "the aborted command is still running");
        await sbx.destroy();
      });
    });

  it("node:http's fetch speaks plain HTTP to any server and refuses other schemes", async () => {
    const plain: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => res.writeHead(201, { "content-type": "application/json", "x-seen": req.headers["x-test"] ?? "" }).end(JSON.stringify({ method: req.method, url: req.url, body })));
    });
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    try {
      const f = nodeFetch();
      const res = await f(`http://127.0.0.1:${(plain.address() as { port: number }).port}/a/b?c=1`, { method: "POST", headers: { "x-test": "yes" }, body: new TextEncoder().encode("hi").buffer as ArrayBuffer });
      assert.equal(res.status, 201);
      assert.equal(res.ok, true);
      assert.equal(res.headers.get("x-seen"), "yes");
      assert.deepEqual(await res.json(), { method: "POST", url: "/a/b?c=1", body: "hi" });
      await assert.rejects(f("ftp://127.0.0.1/x"), /ftp: URLs are not supported/);
    } finally {
      plain.close();
    }
  });
});
