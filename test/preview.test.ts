import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { request } from "node:http";
import { WebSocket } from "ws";
import type { BurrowApiError, Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/** Resolve every name to loopback, as browsers and curl do for *.localhost. */
const toLoopback = (_host: string, opts: { all?: boolean }, cb: (err: null, address: unknown, family?: number) => void) =>
  opts?.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4);

function get(url: string, opts: { method?: string; body?: string } = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? "GET", lookup: toLoopback as never }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d) => (body += d)).on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** A small Python web app: echo, redirect, a slow streamed body, and a bare-bones WebSocket echo. */
const APP = String.raw`
import base64, hashlib, socketserver, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/redirect":
            self.send_response(302); self.send_header("Location", "/elsewhere"); self.send_header("Content-Length", "0"); self.end_headers(); return
        if self.path == "/stream":
            self.send_response(200); self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            for i in range(3):
                c = ("chunk%d\n" % i).encode(); self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c)); self.wfile.flush(); time.sleep(0.3)
            self.wfile.write(b"0\r\n\r\n"); return
        if self.headers.get("Upgrade", "").lower() == "websocket":
            key = self.headers["Sec-WebSocket-Key"]
            acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            self.send_response(101); self.send_header("Upgrade", "websocket"); self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", acc); self.end_headers(); self.wfile.flush()
            while True:
                h = self.rfile.read(2)
                if len(h) < 2: return
                n = h[1] & 127
                if n == 126: n = int.from_bytes(self.rfile.read(2), "big")
                mask = self.rfile.read(4); data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
                if h[0] & 15 == 8: return
                out = b"echo:" + data
                self.wfile.write(bytes([0x81, len(out)]) + out); self.wfile.flush()
        body = ("hello from %s %s host=%s" % (self.command, self.path, self.headers.get("Host"))).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); data = self.rfile.read(n)
        self.send_response(201); self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
class S(socketserver.ThreadingMixIn, HTTPServer): daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
`;

describe("preview URLs", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  let id: string;
  const start = async () => {
    const p = await sbx.startProcess("python3 /workspace/app.py 8000");
    await p.waitForPort(8000);
  };
  before(async () => {
    srv = await startTestServer();
    id = name("web");
    sbx = srv.burrow.sandbox(id);
    await sbx.writeFile("/workspace/app.py", APP);
    await start();
  });
  after(() => srv.cleanup());

  it("serves HTTP through the URL: methods, bodies, the original host", async () => {
    const { url, token } = await sbx.exposePort(8000, { name: "web" });
    assert.equal(url, `http://8000-${id}-${token}.localhost:${srv.port}/`);
    const r = await get(`${url}path?q=1`);
    assert.equal(r.status, 200);
    assert.equal(r.body, `hello from GET /path?q=1 host=8000-${id}-${token}.localhost:${srv.port}`);
    const p = await get(url, { method: "POST", body: "posted body" });
    assert.equal(p.status, 201);
    assert.equal(p.body, "posted body");
    // curl resolves *.localhost to loopback on its own, like a browser.
    assert.match(execFileSync("curl", ["-s", `${url}curl`], { encoding: "utf8" }), /hello from GET \/curl/);
    const list = await sbx.getExposedPorts();
    assert.deepEqual(list.map((p) => [p.port, p.name, p.url]), [[8000, "web", url]]);
  });

  it("passes redirects through without following them, and streams bodies as they come", async () => {
    const { url } = await sbx.exposePort(8000);
    const r = await get(`${url}redirect`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, "/elsewhere");
    const t = Date.now();
    const firstChunkAt = await new Promise<number>((resolve, reject) => {
      request(`${url}stream`, { lookup: toLoopback as never }, (res) => res.once("data", () => resolve(Date.now() - t))).on("error", reject).end();
    });
    assert.ok(firstChunkAt < 500, `first chunk after ${firstChunkAt} ms, before the body ended`);
  });

  it("delivers large responses whole (checksummed), again and again", async () => {
    await sbx.exec("head -c 20000000 /dev/urandom > /workspace/big.bin");
    const want = (await sbx.exec("sha256sum /workspace/big.bin")).stdout.split(" ")[0];
    const p = await sbx.startProcess("cd /workspace && python3 -m http.server 8010 --bind 127.0.0.1");
    await p.waitForPort(8010);
    const { url } = await sbx.exposePort(8010);
    for (let i = 0; i < 4; i++) {
      const got = await new Promise<string>((resolve, reject) => {
        request(`${url}big.bin`, { lookup: toLoopback as never }, (res) => {
          const h = createHash("sha256");
          res.on("data", (d) => h.update(d)).on("end", () => resolve(h.digest("hex")));
        }).on("error", reject).end();
      });
      assert.equal(got, want, `download ${i} is complete`);
    }
    await p.kill();
  });

  it("carries WebSockets", async () => {
    const { url } = await sbx.exposePort(8000);
    const ws = new WebSocket(url.replace("http", "ws") + "socket", { lookup: toLoopback as never });
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    const reply = new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
    ws.send("ping");
    assert.equal(await reply, "echo:ping");
    ws.close();
  });

  it("gives a stable URL for a given token, refuses reserved ports, and unexposes idempotently", async () => {
    const a = await sbx.exposePort(8001, { token: "mytoken1" });
    assert.match(a.url, /^http:\/\/8001-.*-mytoken1\.localhost/);
    assert.equal((await sbx.exposePort(8001, { token: "mytoken1" })).url, a.url);
    await assert.rejects(sbx.exposePort(3128), (e: BurrowApiError) => e.code === "PORT_RESERVED" && e.status === 400);
    await assert.rejects(sbx.exposePort(8002, { token: "Bad-Token" }), (e: BurrowApiError) => e.code === "VALIDATION_FAILED");
    await sbx.unexposePort(8001);
    await sbx.unexposePort(8001);
  });

  it("answers 404 for a wrong or revoked token, and 502 when nothing listens", async () => {
    const { url, token } = await sbx.exposePort(8000, { token: "revokeme" });
    assert.equal((await get(url.replace(token, "wrongtoken"))).status, 404);
    assert.equal((await get(url.replace("8000-", "8005-"))).status, 404);
    await sbx.unexposePort(8000);
    const r = await get(url);
    assert.equal(r.status, 404);
    assert.match(r.body, /not exposed|revoked/);
    const dead = await sbx.exposePort(8009);
    assert.equal((await get(dead.url)).status, 502);
  });

  it("does not wake a sleeping sandbox for a bad token, and wakes it for a good one", async () => {
    const { url, token } = await sbx.exposePort(8000);
    await sbx.sleep();
    assert.equal((await get(url.replace(token, "nottheright"))).status, 404);
    assert.equal((await srv.burrow.get(id)).state, "sleeping");
    // A valid URL wakes the sandbox; the server inside was stopped by the sleep, so nothing listens yet.
    assert.equal((await get(url)).status, 502);
    assert.equal((await srv.burrow.get(id)).state, "running");
    await start();
    assert.equal((await get(url)).status, 200);
  });

  it("keeps the URL across a server restart", async () => {
    const { url } = await sbx.exposePort(8000, { token: "keepme" });
    await srv.stop();
    await srv.restart();
    await start();
    assert.equal((await get(url)).status, 200);
  });
});
