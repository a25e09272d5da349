import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { inspect } from "node:util";
import { Burrow, type BurrowApiError } from "../src/client/index.js";
import { ERRORS } from "../src/contract/errors.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/** A request with the path exactly as given: fetch would resolve `.`, `..` and `%2e` first. */
function raw(srv: TestServer, method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: srv.port, method, path, headers: { authorization: `Bearer ${srv.token}`, ...(body ? { "content-type": "application/json" } : {}) } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, json, text });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Bytes on a socket, for requests Node's own client would never send; the answer as text. */
function wire(srv: TestServer, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(srv.port, "127.0.0.1", () => s.end(bytes));
    let out = "";
    s.setEncoding("utf8").on("data", (d) => (out += d)).on("close", () => resolve(out)).on("error", reject);
  });
}

describe("input hardening (issue 17)", () => {
  let srv: TestServer;
  let id: string;
  const expectError = async (res: Response, status: number, code: string) => {
    const body = await res.json();
    assert.equal(res.status, status, `status for ${code}: ${JSON.stringify(body)}`);
    assert.equal(body.code, code, JSON.stringify(body));
    assert.ok(typeof body.message === "string" && body.message.length > 10, "a sentence saying what to fix");
    assert.ok(code in ERRORS);
  };
  before(async () => {
    srv = await startTestServer();
    id = name("hard");
    await srv.burrow.sandbox(id).exec("true");
  });
  after(() => srv.cleanup());

  it("5: preview hosts stay valid DNS names for the longest ids", async () => {
    // 52 characters: "8000-<id>-<16-char token>" was 74. (63-character ids do not start from a temporary data
    // directory at all: the egress socket's path passes the 108-byte unix socket limit; see the hardening notes.)
    const long = `p${"x".repeat(49)}-1`;
    const { url } = await srv.burrow.sandbox(long).exposePort(8000);
    const host = new URL(url).hostname;
    for (const label of host.split(".")) assert.ok(label.length >= 1 && label.length <= 63, `label ${label} (${label.length})`);
    assert.ok(host.length <= 253);
    // The host is routed as a preview (nothing listens: 502 from the tunnel, not the admin API's 401).
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) =>
      request({ host: "127.0.0.1", port: srv.port, path: "/", headers: { host: new URL(url).host } }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d)).on("end", () => resolve({ status: res.statusCode!, body }));
      }).on("error", reject).end(),
    );
    assert.equal(r.status, 502, r.body);
    assert.equal(JSON.parse(r.body).code, "UPSTREAM_UNAVAILABLE");
    // A token that could not share a label with the port is refused up front.
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/ports/8000`, { token: "a".repeat(58) }), 400, "VALIDATION_FAILED");
  });

  it("6: '.', '..', empty and encoded segments never reach another sandbox", async () => {
    await srv.burrow.sandbox("files").writeFile("/workspace/tmp.txt", "keep");
    for (const [method, path] of [
      ["DELETE", "/v1/sandboxes/%2e/files?path=/workspace/tmp.txt"],
      ["DELETE", "/v1/sandboxes/./files?path=/workspace/tmp.txt"],
      ["DELETE", "/v1/sandboxes/%2E%2E/sandboxes/files"],
      ["DELETE", "/v1/sandboxes//files"],
      ["DELETE", "/v1/sandboxes/x%2f..%2ffiles"],
      ["PUT", "/v1/sandboxes/x/../exec"],
      ["PUT", "/v1/sandboxes/x/%2e%2e/exec"],
      ["GET", "/v1/sandboxes/a%00b"],
    ] as const) {
      const r = await raw(srv, method, path);
      assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
      assert.ok(r.json && typeof r.json.code === "string" && r.json.code in ERRORS, r.text);
    }
    assert.equal((await srv.burrow.sandbox("files").readFile("/workspace/tmp.txt")).content, "keep");
    assert.equal((await srv.burrow.get("files")).state, "running");
    assert.ok(!(await srv.burrow.list()).some((s) => s.id === "exec"), "no sandbox named exec");
    // The SDK refuses such names itself (fetch would resolve the dot before the server saw it).
    assert.throws(() => srv.burrow.sandbox("."), (e: BurrowApiError) => e.code === "INVALID_SANDBOX_ID");
    assert.throws(() => srv.burrow.sandbox(".."), (e: BurrowApiError) => e.code === "INVALID_SANDBOX_ID");
    await assert.rejects(srv.burrow.get(".."), (e: BurrowApiError) => e.code === "INVALID_SANDBOX_ID");
    assert.equal((await srv.burrow.get("files")).id, "files");
  });

  it("7: NUL bytes in env, command, argv and git targetDir are 400s and nothing is stored", async () => {
    const base = `/v1/sandboxes/${id}`;
    await expectError(await srv.api("POST", `${base}/env`, { env: { A: "x\u0000" } }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/env`, { env: { "A\u0000B": "x" } }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("PUT", `/v1/sandboxes/${name("nul")}`, { env: { A: "\u0000" } }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/exec`, { command: "echo a\u0000b" }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/exec`, { argv: ["echo", "a\u0000"] }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/exec`, { command: "true", env: { B: "\u0000" } }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/exec`, { command: "true", env: { "B\u0000": "x" } }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/exec`, { command: "true", cwd: "/tmp\u0000" }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/processes`, { command: "sleep 1\u0000" }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/sessions`, { env: { A: "\u0000" } }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/git/checkout`, { url: "https://example.com/r.git", targetDir: "/workspace/a\u0000" }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("GET", `${base}/files?path=${encodeURIComponent("/etc/\u0000passwd")}`), 400, "INVALID_PATH");
    const info = await srv.burrow.get(id);
    assert.ok(!("A" in info.env), "nothing invalid was stored");
    assert.equal((await srv.burrow.sandbox(id).exec("echo still")).stdout, "still\n");
  });

  it("10: caller errors from the files API and the limits are 4xx with stable codes", async () => {
    const sbx = srv.burrow.sandbox(id);
    const base = `/v1/sandboxes/${id}`;
    await expectError(await srv.api("GET", `${base}/files?path=/workspace/${"n".repeat(300)}`), 400, "INVALID_PATH"); // ENAMETOOLONG
    await sbx.exec("ln -sfn loop /workspace/loop && python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('/workspace/sock')\"");
    await expectError(await srv.api("GET", `${base}/files?path=/workspace/loop/x`), 400, "INVALID_PATH"); // ELOOP
    const sock = await srv.api("GET", `${base}/files?path=/workspace/sock`); // ENXIO (or refused as not a file)
    assert.ok(sock.status >= 400 && sock.status < 500, `socket read: ${sock.status}`);
    assert.ok((await sock.json()).code in ERRORS);
    // /dev/mqueue is a mount point: moving it is EBUSY.
    await expectError(await srv.api("POST", `${base}/files/move`, { from: "/dev/mqueue", to: "/workspace/mq" }), 409, "FILE_BUSY");
    await expectError(await srv.api("PUT", `/v1/sandboxes/${name("cpu")}`, { limits: { cpus: 0.001 } }), 400, "VALIDATION_FAILED");
  });

  it("10: requests Node's parser refuses get a JSON error", async () => {
    const huge = await wire(srv, `GET /v1/sandboxes/${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 /);
    assert.equal(JSON.parse(huge.slice(huge.indexOf("\r\n\r\n") + 4)).code, "HEADERS_TOO_LARGE");
    const garbage = await wire(srv, "NOT HTTP AT ALL\r\n\r\n");
    assert.match(garbage, /^HTTP\/1\.1 4\d\d /);
    const body = JSON.parse(garbage.slice(garbage.indexOf("\r\n\r\n") + 4));
    assert.ok(body.code in ERRORS && body.message.length > 10);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });

  it("11: values out of their documented bounds are refused", async () => {
    const base = `/v1/sandboxes/${id}`;
    await expectError(await srv.api("PUT", `/v1/sandboxes/${name("sl")}`, { sleepAfter: "99999999999999h" }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("PUT", `/v1/sandboxes/${name("sl")}`, { sleepAfter: "721h" }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/ports/1e3`, {}), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `${base}/ports/0x50`, {}), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("PUT", `${base}/egress`, { allowedHosts: ["1.2.3.4/99"] }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("PUT", `${base}/egress`, { deniedHosts: ["::1/129"] }), 400, "VALIDATION_FAILED");
    for (const limit of ["-1", "abc", "99999999", "0", "1.5"])
      await expectError(await srv.api("GET", `${base}/egress/audit?limit=${limit}`), 400, "VALIDATION_FAILED");
    assert.equal((await srv.api("GET", `${base}/egress/audit?limit=5`)).status, 200);
    const before = (await srv.burrow.listSnapshots()).length;
    await expectError(await srv.api("POST", `${base}/snapshots`, "{not json"), 400, "INVALID_JSON");
    await expectError(await srv.api("POST", `${base}/snapshots`, { bogus: 1 }), 400, "VALIDATION_FAILED");
    assert.equal((await srv.burrow.listSnapshots()).length, before, "no snapshot was made");
    await expectError(await srv.api("GET", `${base}/ports/3128/ready?timeoutMs=500`), 400, "PORT_RESERVED");
  });

  it("15: handles never show the token when serialised or inspected", async () => {
    const token = "super-secret-token-value";
    const burrow = new Burrow({ url: srv.url, token });
    const sbx = burrow.sandbox(id, { env: { SECRET: "env-secret" } });
    for (const v of [sbx, burrow]) {
      for (const text of [JSON.stringify(v), inspect(v, { depth: 10, showHidden: true }), String(JSON.stringify({ v }))]) {
        assert.ok(!text.includes(token), `token shown: ${text}`);
        assert.ok(!text.includes("env-secret"), `env shown: ${text}`);
      }
    }
    assert.deepEqual(JSON.parse(JSON.stringify(sbx)), { id });
    const p = await new Burrow({ url: srv.url, token: srv.token }).sandbox(id).startProcess("sleep 5");
    assert.ok(!inspect(p, { depth: 10 }).includes(srv.token));
    assert.ok(!JSON.stringify(p).includes(srv.token));
    await p.kill();
  });

  it("16: aborting a non-streamed runCode interrupts the cell", async () => {
    const sbx = srv.burrow.sandbox(id);
    const context = await sbx.createCodeContext({ language: "python" });
    const abort = new AbortController();
    const run = sbx.runCode("import time\ntime.sleep(4)\nfinished = True", { context, signal: abort.signal });
    setTimeout(() => abort.abort(), 700);
    await assert.rejects(run);
    const t = Date.now();
    const next = await sbx.runCode("globals().get('finished', False)", { context });
    assert.equal(next.results[0]?.text, "False", "the aborted cell did not run to its end");
    assert.ok(Date.now() - t < 3000, `the next cell waited ${Date.now() - t} ms`);
  });
});
