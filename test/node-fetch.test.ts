import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { nodeFetch } from "../src/lib/node-fetch.js";

// The server's fetch for calls to its own API (MCP tools, agents' sandboxes): what Burrow's client reads of a Response.
describe("nodeFetch", () => {
  let server: Server;
  let url = "";
  const f = nodeFetch();
  before(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString();
      if (req.url === "/stream") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: 1\n\n");
        setTimeout(() => res.end("data: 2\n\n"), 50);
        return;
      }
      if (req.url === "/hang") return; // never answers
      res.writeHead(req.url === "/missing" ? 404 : 200, { "content-type": "application/json", "x-seen": String(req.headers["x-test"]) });
      res.end(JSON.stringify({ method: req.method, body, length: req.headers["content-length"] ?? null }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((r) => server.close(r)));

  it("sends a method, headers and a text or byte body, and reads status, headers and JSON", async () => {
    const r = await f(`${url}/x?q=1`, { method: "POST", headers: { "x-test": "yes" }, body: "hello" });
    assert.equal(r.ok, true);
    assert.equal(r.headers.get("x-seen"), "yes");
    assert.deepEqual(await r.json(), { method: "POST", body: "hello", length: "5" });
    const bytes = await f(`${url}/x`, { method: "PUT", body: new TextEncoder().encode("héllo") });
    assert.deepEqual(await bytes.json(), { method: "PUT", body: "héllo", length: "6" });
    const missing = await f(`${url}/missing`);
    assert.equal(missing.ok, false);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /"method":"GET"/);
  });

  it("uploads a stream and reads a streamed answer as it comes", async () => {
    const up = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("part1-"));
        c.enqueue(new TextEncoder().encode("part2"));
        c.close();
      },
    });
    assert.equal((await (await f(`${url}/x`, { method: "POST", body: up, duplex: "half" } as RequestInit)).json()).body, "part1-part2");
    const r = await f(`${url}/stream`);
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.equal(first.value, "data: 1\n\n", "the first event before the answer ends");
    let rest = "";
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += c.value;
    assert.equal(rest, "data: 2\n\n");
  });

  it("gives up when its signal aborts", async () => {
    await assert.rejects(f(`${url}/hang`, { signal: AbortSignal.timeout(100) }), /abort/i);
  });
});
