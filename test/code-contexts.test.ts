import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BurrowApiError, Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

describe("code contexts (Python)", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    srv = await startTestServer();
    sbx = srv.burrow.sandbox(name("code"));
  });
  after(() => srv.cleanup());

  it("keeps variables, imports and functions between runs; the last expression is the result", async () => {
    const ctx = await sbx.createCodeContext({ language: "python" });
    assert.equal(ctx.language, "python");
    await sbx.runCode("import math\nx = 20\ndef double(v): return v * 2", { context: ctx });
    const r = await sbx.runCode("print('side effect')\ndouble(x) + math.floor(2.5)", { context: ctx });
    assert.equal(r.logs.stdout, "side effect\n");
    assert.equal(r.results.length, 1);
    assert.equal(r.results[0]!.text, "42");
    assert.equal(r.results[0]!.isMainResult, true);
    assert.equal(r.executionCount, 2);
  });

  it("isolates contexts from each other", async () => {
    const a = await sbx.createCodeContext();
    const b = await sbx.createCodeContext();
    await sbx.runCode("secret = 'a only'", { context: a });
    const r = await sbx.runCode("secret", { context: b });
    assert.equal(r.error?.name, "NameError");
    assert.equal(r.results.length, 0);
    assert.ok((await sbx.listCodeContexts()).length >= 2);
  });

  it("returns a matplotlib chart as a PNG without show(), and a DataFrame as HTML plus text", async () => {
    const ctx = await sbx.createCodeContext();
    const chart = await sbx.runCode("import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3), dpi=100)\nplt.plot([1, 3, 2])", { context: ctx });
    const png = chart.results.find((r) => r.png);
    assert.ok(png, `a PNG result: ${JSON.stringify(chart.results.map((r) => Object.keys(r)))}`);
    const bytes = Buffer.from(png!.png as string, "base64");
    assert.equal(bytes.subarray(1, 4).toString(), "PNG");
    // Width and height from the IHDR chunk: a 4x3 in figure at 100 dpi, trimmed to its drawn area.
    const [w, h] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
    assert.ok(w > 300 && w <= 400 && h > 200 && h <= 300, `a ${w}x${h} image`);
    const df = await sbx.runCode("import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})", { context: ctx });
    assert.match(df.results[0]!.html as string, /<table/);
    assert.match(df.results[0]!.text as string, /a\s+b/);
    const shown = await sbx.runCode("from IPython.display import display, HTML\ndisplay(HTML('<b>hi</b>'))\n1", { context: ctx });
    assert.equal(shown.results[0]!.html, "<b>hi</b>");
    assert.equal(shown.results[1]!.text, "1");
  });

  it("reports errors with name, message and traceback, and the context goes on", async () => {
    const ctx = await sbx.createCodeContext();
    const r = await sbx.runCode("y = 1\n1 / 0", { context: ctx });
    assert.equal(r.error!.name, "ZeroDivisionError");
    assert.match(r.error!.message, /division by zero/);
    assert.match(r.error!.traceback, /1 \/ 0/);
    assert.equal((await sbx.runCode("y + 1", { context: ctx })).results[0]!.text, "2");
    const syn = await sbx.runCode("def (:", { context: ctx });
    assert.equal(syn.error!.name, "SyntaxError");
  });

  it("streams output as it happens, not after the cell ends", async () => {
    const ctx = await sbx.createCodeContext();
    const t = Date.now();
    const seen: { type: string; at: number; data?: string }[] = [];
    for await (const e of sbx.runCodeStream("import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.4)\n'end'", { context: ctx }))
      seen.push({ type: e.type, at: Date.now() - t, data: "data" in e ? String(e.data) : undefined });
    const when = (v: string) => seen.find((e) => e.type === "stdout" && e.data?.includes(v))!.at;
    assert.ok(when("2") - when("0") >= 700, `printed 0.4 s apart, received as printed: ${JSON.stringify(seen)}`);
    assert.deepEqual(seen.slice(-2).map((e) => e.type), ["result", "complete"]);
  });

  it("interrupts a cell on timeout with KeyboardInterrupt and keeps the state", async () => {
    const ctx = await sbx.createCodeContext();
    await sbx.runCode("kept = 'still here'", { context: ctx });
    const t = Date.now();
    const r = await sbx.runCode("import time\nwhile True: time.sleep(0.05)", { context: ctx, timeoutMs: 500 });
    assert.ok(Date.now() - t < 5000);
    assert.equal(r.timedOut, true);
    assert.equal(r.error!.name, "KeyboardInterrupt");
    assert.equal((await sbx.runCode("kept", { context: ctx })).results[0]!.text, "'still here'");
  });

  it("reports a crashed interpreter and gives the next run a fresh one with the same id", async () => {
    const ctx = await sbx.createCodeContext();
    await sbx.runCode("gone = 1", { context: ctx });
    const r = await sbx.runCode("import os\nos._exit(9)", { context: ctx });
    assert.equal(r.crashed, true);
    assert.equal(r.error!.name, "ContextCrashed");
    const next = await sbx.runCode("'gone' in dir()", { context: ctx });
    assert.equal(next.restarted, true);
    assert.equal(next.results[0]!.text, "False");
  });

  it("creates six contexts in parallel, each its own", async () => {
    const ctxs = await Promise.all(Array.from({ length: 6 }, () => sbx.createCodeContext()));
    assert.equal(new Set(ctxs.map((c) => c.id)).size, 6);
    const rs = await Promise.all(ctxs.map((c, i) => sbx.runCode(`v = ${i}\nv * 10`, { context: c })));
    rs.forEach((r, i) => assert.equal(r.results[0]!.text, String(i * 10)));
    await Promise.all(ctxs.map((c) => sbx.deleteCodeContext(c)));
    await assert.rejects(sbx.runCode("1", { context: ctxs[0]! }), (e: BurrowApiError) => e.code === "CONTEXT_NOT_FOUND" && e.status === 404);
  });

  it("runs JavaScript: top-level await, promises resolved, declarations kept, console captured, require", async () => {
    const ctx = await sbx.createCodeContext({ language: "javascript" });
    assert.equal(ctx.language, "javascript");
    await sbx.runCode("const base = 40; function add(a) { return a + base }", { context: ctx });
    const r = await sbx.runCode("console.log('logged'); await new Promise((r) => setTimeout(r, 50)); add(2)", { context: ctx });
    assert.equal(r.logs.stdout, "logged\n");
    assert.equal(r.results[0]!.text, "42");
    assert.equal(r.results[0]!.json, 42);
    assert.deepEqual((await sbx.runCode("Promise.resolve({ ok: true, n: [1, 2] })", { context: ctx })).results[0]!.json, { ok: true, n: [1, 2] });
    assert.equal((await sbx.runCode("require('node:path').join('a', 'b')", { context: ctx })).results[0]!.text, "'a/b'");
    // Packages installed in the sandbox load with require and import().
    await sbx.writeFile("/workspace/node_modules/greet/package.json", JSON.stringify({ name: "greet", main: "index.js" }));
    await sbx.writeFile("/workspace/node_modules/greet/index.js", "module.exports = (n) => `hello ${n}`;");
    assert.equal((await sbx.runCode("require('greet')('cjs')", { context: ctx })).results[0]!.text, "'hello cjs'");
    const imported = await sbx.runCode("const g = await import('greet'); g.default('esm')", { context: ctx });
    assert.equal(imported.results[0]?.text, "'hello esm'", JSON.stringify(imported));
    assert.equal(imported.logs.stderr, "");
    const err = await sbx.runCode("null.x", { context: ctx });
    assert.equal(err.error!.name, "TypeError");
    assert.equal((await sbx.runCode("base", { context: ctx })).results[0]!.text, "40");
  });

  it("runs TypeScript after stripping its types, with state kept", async () => {
    const ctx = await sbx.createCodeContext({ language: "typescript" });
    await sbx.runCode("interface P { x: number }\nconst p: P = { x: 3 }\nfunction sq(v: number): number { return v * v }", { context: ctx });
    const r = await sbx.runCode("sq(p.x) as number", { context: ctx });
    assert.equal(r.results[0]!.text, "9");
  });

  it("runs by language in a default context per language, and applies a context's default timeout", async () => {
    await sbx.runCode("lang_default = 7", { language: "python" });
    assert.equal((await sbx.runCode("lang_default * 6", { language: "python" })).results[0]!.text, "42");
    await sbx.runCode("var jsDefault = 5", { language: "javascript" });
    assert.equal((await sbx.runCode("jsDefault * 2", { language: "javascript" })).results[0]!.text, "10");
    const ctx = await sbx.createCodeContext({ timeout: 400 });
    const r = await sbx.runCode("import time\ntime.sleep(5)", { context: ctx });
    assert.equal(r.timedOut, true);
  });

  it("interrupts a busy JavaScript cell on timeout", async () => {
    const ctx = await sbx.createCodeContext({ language: "javascript" });
    await sbx.runCode("let kept = 'yes'", { context: ctx });
    const r = await sbx.runCode("while (true) {}", { context: ctx, timeoutMs: 500 });
    assert.equal(r.timedOut, true);
    assert.ok(r.error);
    assert.equal((await sbx.runCode("kept", { context: ctx })).results[0]!.text, "'yes'");
  });
});
