/**
 * What a sandbox's Node runs first (/.burrow/runtime/runtime.js): it loads
 * the runtime's bundle (main.js, beside it) with V8's code cache for it
 * (main.js.cache), so a start deserializes compiled code instead of parsing
 * the whole bundle. The cache is written on the host, when the runtime is
 * put in the cache directory (src/images/node-kit.ts), by the same Node binary
 * with the same flags; a cache V8 refuses (another Node, other flags) or a
 * missing one only costs that parse. The bundle runs as Node would run it as
 * a CommonJS module: its own `require` (relative paths from main.js, as
 * node-pty's addon needs), `module`, `__filename` and `__dirname`.
 *
 * `runtime.js --write-code-cache` (on the host) compiles the bundle, writes
 * the cache and runs nothing.
 */
import { readFileSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Script } from "node:vm";

const bundle = join(__dirname, "main.js");
const cacheFile = `${bundle}.cache`;
const source = Module.wrap(readFileSync(bundle, "utf8"));

if (process.argv[2] === "--write-code-cache") {
  writeFileSync(cacheFile, new Script(source, { filename: bundle }).createCachedData());
} else {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    /* none: compiled from the source */
  }
  const wrapper = new Script(source, { filename: bundle, cachedData }).runInThisContext() as (...args: unknown[]) => void;
  const mod = new Module(bundle);
  mod.filename = bundle;
  wrapper.call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
  mod.loaded = true;
}
