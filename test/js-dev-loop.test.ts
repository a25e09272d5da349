import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { devLoop } from "../examples/js-dev-loop.js";
import { startJsDemo } from "./helpers/js-demo.js";
import { name, type TestServer } from "./helpers/server.js";

describe("JavaScript in the default image, end to end (examples/js-dev-loop.ts)", () => {
  let srv: TestServer;
  let repoUrl: string;
  let cleanup: (() => Promise<void>) | undefined;

  before(async () => {
    ({ srv, repoUrl, cleanup } = await startJsDemo());
  });
  after(async () => {
    await cleanup?.();
  });

  it("has Node.js, npm and Python's requests", async () => {
    const sbx = srv.burrow.sandbox(name("tools"));
    const r = await sbx.exec("node --version && npm --version && python3 -c 'import requests; print(requests.__name__)'");
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^v\d+\.\d+\.\d+\n\d+\.\d+\.\d+\nrequests\n$/);
    await sbx.destroy();
  });

  it("installs packages with large metadata side by side (a tunnel delivers every byte when the registry closes first)", { timeout: 180_000 }, async () => {
    // Before the egress proxy stopped ending the sandbox's side early, this failed about every other run with ECONNRESET.
    const sbx = srv.burrow.sandbox(name("bigmeta"));
    await sbx.writeFile("/workspace/p/package.json", JSON.stringify({ name: "p", version: "1.0.0", dependencies: { zod: "3.24.1", "date-fns": "4.1.0", lodash: "4.17.21", dayjs: "1.11.13" } }));
    const r = await sbx.exec("npm install --no-audit --no-fund && npm ls --depth=0", { cwd: "/workspace/p", timeoutMs: 170_000 });
    assert.equal(r.exitCode, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, /zod@3\.24\.1/);
    await sbx.destroy();
  });

  it("clones, installs through the egress proxy, streams npm test, runs npm run dev and answers on the preview URL", { timeout: 240_000 }, async () => {
    const sbx = srv.burrow.sandbox(name("devloop"));
    const lines: string[] = [];
    const r = await devLoop(sbx, { repoUrl, port: 3000, log: (l) => lines.push(l) });
    assert.equal(r.testExitCode, 0, r.testChunks.join(""));
    assert.match(r.testChunks.join(""), /pass 2/);
    assert.ok(r.testChunks.length >= 1 && lines.some((l) => l.startsWith("  | ")), "the test output was streamed");
    assert.equal(r.previewStatus, 200);
    assert.equal(r.previewBody, "hello from the dev server, 2m\n");
    const audit = await sbx.egressAudit();
    assert.ok(audit.some((e) => e.host === "registry.npmjs.org" && e.decision === "allowed"), "npm went to the registry through the egress proxy");
    await sbx.destroy();
  });
});
