// Build everything Burrow runs from dist/: the server+CLI, the SDK, the
// in-sandbox runtime bundle and its static init. Fast enough to run every time.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, statSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);
mkdirSync("dist/runtime", { recursive: true });

const common = { bundle: true, platform: "node", target: "node20", sourcemap: "linked", logLevel: "warning" };

// Pure-JS packages bundled into dist/ so a start does not pay Node's module loader for their ~230 files
// (resolution, package.json reads, one compile each): ~100 ms of a start. zod is among them: the schemas Burrow
// hands to the OpenAI and MCP SDKs (their own zod) are read through zod 4's cross-copy `_zod` internals, which
// test/openai-*.test.ts and test/mcp.test.ts exercise. The rest stay external: native ones (better-sqlite3), the
// OpenAI SDK (a peer of user code), and those loaded on demand (the MCP SDK, the AWS SDK, cron-parser).
const BUNDLED = ["ws", "prom-client", "pino", "@opentelemetry/api", "zod"];
const bundleOnly = {
  name: "bundle-only",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { external: true };
      const pkg = args.path.startsWith("@") ? args.path.split("/").slice(0, 2).join("/") : args.path.split("/")[0];
      // Inside a bundled package, its own dependencies are bundled too (ws's optional native helpers stay out).
      const inside = args.importer.includes("/node_modules/");
      if (["bufferutil", "utf-8-validate"].includes(pkg)) return { external: true };
      return BUNDLED.includes(pkg) || inside ? undefined : { external: true };
    });
  },
};
// zod's namespace re-exports all 64 of its message locales (~400 KB of a start's compile); Burrow's messages are
// English, the one locale zod configures itself with, so the namespace gets that one only.
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes("/node_modules/zod/") ? { path: `${args.resolveDir}/../locales/en.js`, namespace: "zod-locales" } : undefined);
    b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, resolveDir: args.path.replace(/\/[^/]*$/, "") }));
  },
};
// Bundled CommonJS packages call require() for Node's modules; an ES module has none of its own.
const esmRequire = 'import { createRequire as __burrowRequire } from "node:module"; const require = __burrowRequire(import.meta.url);';

await Promise.all([
  // The runtime runs inside sandboxes with nothing around it: everything is bundled in.
  // ws's optional native helpers are not installed; ws falls back to JS without them.
  build({ ...common, entryPoints: ["src/runtime/main.ts"], outfile: "dist/runtime/main.js", format: "cjs", sourcemap: false, minify: true, external: ["bufferutil", "utf-8-validate"] }),
  // What the sandbox's Node runs: it loads main.js with V8's code cache for it (src/runtime/boot.ts).
  build({ ...common, entryPoints: ["src/runtime/boot.ts"], outfile: "dist/runtime/runtime.js", format: "cjs", sourcemap: false, minify: true }),
  // What the runtime's V8 startup snapshot is built from, on the host (src/runtime/startup-snapshot.ts).
  build({ ...common, entryPoints: ["src/runtime/startup-snapshot.ts"], outfile: "dist/runtime/startup-snapshot.js", format: "cjs", sourcemap: false, minify: true }),
  // The confined helper runs in a jail with nothing but /usr around it (src/confine/README.md).
  build({ ...common, entryPoints: ["src/confine/helper/main.ts"], outfile: "dist/confine-helper.cjs", format: "cjs", sourcemap: false }),
  // One split build, so the CLI, `burrow/agents` and the examples share a single
  // copy of the agents module (user agents must extend the class the host knows).
  build({
    ...common,
    entryPoints: { cli: "src/cli/main.ts", client: "src/client/index.ts", "client-node": "src/client/node.ts", agents: "src/agents/index.ts", openai: "src/openai/index.ts", egress: "src/egress/public.ts", examples: "examples/agents/index.ts" },
    outdir: "dist",
    format: "esm",
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    plugins: [zodEnglishOnly, bundleOnly],
    banner: { js: esmRequire },
  }),
  // The dashboard (src/web/browser/): one script and one stylesheet for the browser, with Preact and xterm.js inside.
  build({
    entryPoints: [{ in: "src/web/browser/main.ts", out: "app" }, { in: "src/web/browser/style.css", out: "app" }],
    outdir: "dist/web", bundle: true, platform: "browser", format: "esm", target: "es2022", minify: true, sourcemap: false, logLevel: "warning", legalComments: "none",
  }),
  // The example agents' own pages, served by the agents themselves: the chat (chat-page.jsx, React and @cloudflare/ai-chat's
  // useAgentChat) and the counter (counter-page.ts, plain TypeScript over AgentClient).
  build({
    entryPoints: ["examples/agents/chat-page.jsx", "examples/agents/counter-page.ts"], outdir: "dist/examples", bundle: true, platform: "browser", format: "esm", target: "es2022",
    jsx: "automatic", minify: true, sourcemap: false, define: { "process.env.NODE_ENV": '"production"' }, logLevel: "warning", legalComments: "none",
  }),
  // `burrow/xterm`: the terminal addon for other applications' pages (their own copy of xterm.js stays theirs).
  build({ entryPoints: ["src/web/browser/xterm-addon.ts"], outfile: "dist/xterm.js", bundle: true, platform: "browser", format: "esm", target: "es2022", external: ["@xterm/xterm"], logLevel: "warning" }),
]);
copyFileSync("src/web/browser/favicon.svg", "dist/web/favicon.svg");

// The C helpers, each a static binary rebuilt when its source is newer (what each is for: its folder's README).
const helpers = [
  // The sandbox's init (src/runtime/init/init.c).
  { src: "src/runtime/init/init.c", out: "dist/runtime/init", flags: [] },
  // What the runtime starts user commands through, so they land in the user pids cgroup.
  { src: "src/runtime/init/enter.c", out: "dist/runtime/enter" },
  // What starts one-shot user commands without forking the runtime.
  { src: "src/runtime/init/spawner.c", out: "dist/runtime/spawner" },
  // The fd-based tree copier for snapshots.
  { src: "src/confine/copytree/copytree.c", out: "dist/burrow-copytree" },
  // The in-place owner shift for layers made from a sandbox's upper layer.
  { src: "src/confine/idshift/idshift.c", out: "dist/burrow-idshift" },
  // What mounts a sandbox's root from idmapped layers.
  { src: "src/sandboxes/idmap/idmount.c", out: "dist/burrow-idmount" },
  // The supervisor's exit watcher.
  { src: "src/sandboxes/pidwatch/pidwatch.c", out: "dist/burrow-pidwatch" },
  // Per-sandbox disk limits: btrfs subvolumes and quota groups.
  { src: "src/sandboxes/diskquota/diskquota.c", out: "dist/burrow-diskquota" },
];
for (const { src, out, flags = ["-Wall"] } of helpers)
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs)
    execFileSync("gcc", ["-O2", "-static", "-s", ...flags, "-o", out, src], { stdio: "inherit" });

// The server's heap-trim addon (src/lib/heap-trim/), a Node-API module built against the headers of the
// Node running this build. Without them it is skipped and the server only keeps freed memory in its heap.
const nodeHeaders = join(dirname(dirname(process.execPath)), "include", "node");
const trimSrc = "src/lib/heap-trim/trim.c";
const trimOut = "dist/burrow-heap-trim.node";
if (!existsSync(join(nodeHeaders, "node_api.h"))) console.warn(`build: no Node headers in ${nodeHeaders}; the heap-trim addon is skipped`);
else if (!existsSync(trimOut) || statSync(trimOut).mtimeMs < statSync(trimSrc).mtimeMs)
  execFileSync("gcc", ["-O2", "-Wall", "-shared", "-fPIC", "-s", "-I", nodeHeaders, "-o", trimOut, trimSrc], { stdio: "inherit" });

// node-pty is bundled into runtime.js; its native addon sits beside it, where node-pty looks ("./build/Release").
mkdirSync("dist/runtime/build/Release", { recursive: true });
copyFileSync("node_modules/node-pty/build/Release/pty.node", "dist/runtime/build/Release/pty.node");
