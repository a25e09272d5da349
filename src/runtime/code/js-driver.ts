/**
 * The JavaScript side of a code context, run by the injected Node with
 * `--expose-internals --experimental-vm-modules -e`. Same wire as the Python driver (requests on fd 3,
 * results on fd 4, output on stdout/stderr up to a per-cell marker). Cells run
 * in one persistent vm context, so declarations last; top-level await uses the
 * rewrite Node's own REPL uses (internal/repl/await: safe to rely on, since the
 * Node binary is the one Burrow injects); promises are awaited; `require`
 * resolves packages installed in the sandbox from the context's directory.
 */
export const JS_DRIVER = String.raw`
const vm = require("node:vm"), fs = require("node:fs"), util = require("node:util"), readline = require("node:readline");
const { Console } = require("node:console");
const { createRequire } = require("node:module");
const { processTopLevelAwait } = require("internal/repl/await");
const { pathToFileURL } = require("node:url");
const path = require("node:path");
// import() inside cells: builtins and URLs as they are, paths and packages from the context's directory.
const importModuleDynamically = (spec) => {
  if (spec.startsWith("node:") || /^[a-z]+:/.test(spec)) return import(spec);
  if (spec.startsWith(".") || spec.startsWith("/")) return import(pathToFileURL(path.resolve(process.cwd(), spec)).href);
  try { return import(pathToFileURL(createRequire(process.cwd() + "/").resolve(spec)).href); } catch { return import(spec); }
};
const out = fs.createWriteStream(null, { fd: 4 });
const send = (o) => out.write(JSON.stringify(o) + "\n");
const reprs = (v) => {
  const data = { "text/plain": util.inspect(v, { depth: 4, colors: false }) };
  try { if (v !== undefined && typeof v !== "function") { const j = JSON.stringify(v); if (j !== undefined) data["application/json"] = JSON.parse(j); } } catch {}
  return data;
};
let ctx;
const makeContext = () => {
  const g = {
    console: new Console(process.stdout, process.stderr), require: createRequire(process.cwd() + "/"), process, Buffer,
    setTimeout, setInterval, clearTimeout, clearInterval, setImmediate, clearImmediate, queueMicrotask, structuredClone,
    URL, URLSearchParams, TextEncoder, TextDecoder, AbortController, fetch: globalThis.fetch, Headers: globalThis.Headers,
    Request: globalThis.Request, Response: globalThis.Response, display: (v) => send({ type: "result", data: reprs(v) }),
  };
  g.exports = {}; g.module = { exports: g.exports }; g.globalThis = g;
  ctx = vm.createContext(g);
};
makeContext();
process.on("SIGINT", () => {});
let count = 0;
const run = async (code, filename) => {
  const wrapped = code.includes("await") ? processTopLevelAwait(code) : null;
  if (wrapped !== null) {
    const r = await vm.runInContext(wrapped, ctx, { filename, breakOnSigint: true, importModuleDynamically });
    return r && typeof r === "object" && "value" in r ? r.value : undefined;
  }
  const v = new vm.Script(code, { filename, importModuleDynamically }).runInContext(ctx, { breakOnSigint: true });
  return v && typeof v.then === "function" ? await v : v;
};
let chain = Promise.resolve();
readline.createInterface({ input: fs.createReadStream(null, { fd: 3 }) }).on("line", (line) => {
  const req = JSON.parse(line);
  if (req.type === "setup") { if (req.cwd) process.chdir(req.cwd); Object.assign(process.env, req.env || {}); makeContext(); return; }
  chain = chain.then(async () => {
    count++;
    try {
      const value = await run(req.code, "cell-" + count);
      if (value !== undefined) send({ type: "result", data: reprs(value), isMainResult: true });
    } catch (e) {
      send({ type: "error", name: (e && e.name) || "Error", message: (e && e.message) || String(e), traceback: (e && e.stack) || "" });
    }
    process.stdout.write("\x1e" + req.token + "\x1e");
    process.stderr.write("\x1e" + req.token + "\x1e");
    send({ type: "done", executionCount: count });
  });
});
send({ type: "ready" });
`;
