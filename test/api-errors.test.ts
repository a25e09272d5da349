import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/** Every bad request gets a 4xx with a stable code and a sentence; the server keeps serving. */
describe("bad input", () => {
  let srv: TestServer;
  let id: string;
  before(async () => {
    srv = await startTestServer();
    id = name("errs");
    await srv.burrow.sandbox(id).exec("true");
  });
  after(() => srv.cleanup());

  const expectError = async (res: Response, status: number, code: string) => {
    assert.equal(res.status, status, `status for ${code}`);
    const body = await res.json();
    assert.equal(body.code, code);
    assert.equal(typeof body.message, "string");
    assert.ok(body.message.length > 10, "the message says what to fix");
  };

  it("refuses requests without the right token; /healthz is open", async () => {
    await expectError(await fetch(`${srv.url}/v1/sandboxes`), 401, "UNAUTHORIZED");
    await expectError(await fetch(`${srv.url}/v1/sandboxes`, { headers: { authorization: "Bearer wrong" } }), 401, "UNAUTHORIZED");
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });

  it("refuses malformed JSON, wrong fields and unknown fields", async () => {
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/exec`, "{not json"), 400, "INVALID_JSON");
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/exec`, { command: 42 }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/exec`, {}), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/exec`, { command: "x", argv: ["x"] }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/exec`, { command: "x", bogus: 1 }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/exec`, { command: "x", timeoutMs: -5 }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("PUT", `/v1/sandboxes/${name("v")}`, { sleepAfter: "soon" }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("PUT", `/v1/sandboxes/${name("v")}`, { limits: { memoryMB: 1 } }), 400, "VALIDATION_FAILED");
  });

  it("refuses bad sandbox names without creating anything", async () => {
    for (const bad of ["UPPER", "-dash", "a_b", "x".repeat(64), "dot.name"]) {
      await expectError(await srv.api("POST", `/v1/sandboxes/${encodeURIComponent(bad)}/exec`, { command: "true" }), 400, "INVALID_SANDBOX_ID");
    }
    assert.ok(!(await srv.burrow.list()).some((s) => /UPPER|dash/.test(s.id)));
  });

  it("refuses bad paths", async () => {
    await expectError(await srv.api("GET", `/v1/sandboxes/${id}/files?path=relative`), 400, "INVALID_PATH");
    await expectError(await srv.api("GET", `/v1/sandboxes/${id}/files`), 400, "INVALID_PATH");
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/files/mkdir`, { path: "no/slash" }), 400, "VALIDATION_FAILED");
    await expectError(await srv.api("DELETE", `/v1/sandboxes/${id}/files?path=/`), 400, "INVALID_PATH");
    await expectError(await srv.api("GET", `/v1/sandboxes/${id}/files?path=/nope`), 404, "FILE_NOT_FOUND");
  });

  it("answers unknown routes and wrong methods", async () => {
    await expectError(await srv.api("GET", "/v1/nothing-here"), 404, "NOT_FOUND");
    await expectError(await srv.api("PATCH", `/v1/sandboxes/${id}`), 405, "METHOD_NOT_ALLOWED");
  });

  it("refuses oversize JSON bodies", async () => {
    const huge = JSON.stringify({ command: "true", stdin: "x".repeat(90 * 1024 * 1024) });
    await expectError(await srv.api("POST", `/v1/sandboxes/${id}/exec`, huge), 413, "PAYLOAD_TOO_LARGE");
  });

  it("keeps serving after all of that", async () => {
    assert.equal((await srv.burrow.sandbox(id).exec("echo ok")).stdout, "ok\n");
  });
});
