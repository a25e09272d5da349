// Build everything Burrow runs from dist/: the server+CLI, the SDK, the
// in-sandbox runtime bundle and its static init. Fast enough to run every time.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, statSync, existsSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);
mkdirSync("dist/runtime", { recursive: true });

const common = { bundle: true, platform: "node", target: "node20", sourcemap: "linked", logLevel: "warning" };

await Promise.all([
  // The runtime runs inside sandboxes with nothing around it: everything is bundled in.
  // ws's optional native helpers are not installed; ws falls back to JS without them.
  build({ ...common, entryPoints: ["src/runtime/main.ts"], outfile: "dist/runtime/main.js", format: "cjs", sourcemap: false, minify: true, external: ["bufferutil", "utf-8-validate"] }),
  // What the sandbox's Node runs: it loads main.js with V8's code cache for it (src/runtime/boot.ts).
  build({ ...common, entryPoints: ["src/runtime/boot.ts"], outfile: "dist/runtime/runtime.js", format: "cjs", sourcemap: false, minify: true }),
  // The confined helper runs in a jail with nothing but /usr around it (src/confine/README.md).
  build({ ...common, entryPoints: ["src/confine/helper/main.ts"], outfile: "dist/confine-helper.cjs", format: "cjs", sourcemap: false }),
  // One split build, so the CLI, `burrow/agents` and the examples share a single
  // copy of the agents module (user agents must extend the class the host knows).
  build({
    ...common,
    entryPoints: { cli: "src/cli/main.ts", client: "src/client/index.ts", agents: "src/agents/index.ts", openai: "src/openai/index.ts", egress: "src/egress/public.ts", examples: "examples/agents/index.ts" },
    outdir: "dist",
    format: "esm",
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    packages: "external",
  }),
  // The dashboard (src/web/browser/): one script and one stylesheet for the browser, with Preact and xterm.js inside.
  build({
    entryPoints: [{ in: "src/web/browser/main.ts", out: "app" }, { in: "src/web/browser/style.css", out: "app" }],
    outdir: "dist/web", bundle: true, platform: "browser", format: "esm", target: "es2022", minify: true, sourcemap: false, logLevel: "warning", legalComments: "none",
  }),
  // The example chat's page (examples/agents/chat-page.jsx): React and @cloudflare/ai-chat's useAgentChat, served by the SandboxChat agent.
  build({
    entryPoints: ["examples/agents/chat-page.jsx"], outfile: "dist/examples/chat-page.js", bundle: true, platform: "browser", format: "esm", target: "es2022",
    jsx: "automatic", minify: true, sourcemap: false, define: { "process.env.NODE_ENV": '"production"' }, logLevel: "warning", legalComments: "none",
  }),
  // `burrow/xterm`: the terminal addon for other applications' pages (their own copy of xterm.js stays theirs).
  build({ entryPoints: ["src/web/browser/xterm-addon.ts"], outfile: "dist/xterm.js", bundle: true, platform: "browser", format: "esm", target: "es2022", external: ["@xterm/xterm"], logLevel: "warning" }),
]);
copyFileSync("src/web/browser/favicon.svg", "dist/web/favicon.svg");

const initSrc = "src/runtime/init/init.c";
const initOut = "dist/runtime/init";
if (!existsSync(initOut) || statSync(initOut).mtimeMs < statSync(initSrc).mtimeMs) {
  execFileSync("gcc", ["-O2", "-static", "-s", "-o", initOut, initSrc], { stdio: "inherit" });
}

// What the runtime starts user commands through, so they land in the user pids cgroup (src/runtime/init/enter.c).
const enterSrc = "src/runtime/init/enter.c";
const enterOut = "dist/runtime/enter";
if (!existsSync(enterOut) || statSync(enterOut).mtimeMs < statSync(enterSrc).mtimeMs) {
  execFileSync("gcc", ["-O2", "-static", "-s", "-Wall", "-o", enterOut, enterSrc], { stdio: "inherit" });
}

// The fd-based tree copier for snapshots (src/confine/copytree/).
const copySrc = "src/confine/copytree/copytree.c";
const copyOut = "dist/burrow-copytree";
if (!existsSync(copyOut) || statSync(copyOut).mtimeMs < statSync(copySrc).mtimeMs) {
  execFileSync("gcc", ["-O2", "-static", "-s", "-Wall", "-o", copyOut, copySrc], { stdio: "inherit" });
}

// The in-place owner shift for layers made from a sandbox's upper layer (src/confine/idshift/).
const shiftSrc = "src/confine/idshift/idshift.c";
const shiftOut = "dist/burrow-idshift";
if (!existsSync(shiftOut) || statSync(shiftOut).mtimeMs < statSync(shiftSrc).mtimeMs) {
  execFileSync("gcc", ["-O2", "-static", "-s", "-Wall", "-o", shiftOut, shiftSrc], { stdio: "inherit" });
}

// What mounts a sandbox's root from idmapped layers (src/sandboxes/idmap/).
const idmountSrc = "src/sandboxes/idmap/idmount.c";
const idmountOut = "dist/burrow-idmount";
if (!existsSync(idmountOut) || statSync(idmountOut).mtimeMs < statSync(idmountSrc).mtimeMs) {
  execFileSync("gcc", ["-O2", "-static", "-s", "-Wall", "-o", idmountOut, idmountSrc], { stdio: "inherit" });
}

// The supervisor's exit watcher (src/sandboxes/pidwatch/).
const watchSrc = "src/sandboxes/pidwatch/pidwatch.c";
const watchOut = "dist/burrow-pidwatch";
if (!existsSync(watchOut) || statSync(watchOut).mtimeMs < statSync(watchSrc).mtimeMs) {
  execFileSync("gcc", ["-O2", "-static", "-s", "-Wall", "-o", watchOut, watchSrc], { stdio: "inherit" });
}

// Per-sandbox disk limits: btrfs subvolumes and quota groups (src/sandboxes/diskquota/).
const quotaSrc = "src/sandboxes/diskquota/diskquota.c";
const quotaOut = "dist/burrow-diskquota";
if (!existsSync(quotaOut) || statSync(quotaOut).mtimeMs < statSync(quotaSrc).mtimeMs) {
  execFileSync("gcc", ["-O2", "-static", "-s", "-Wall", "-o", quotaOut, quotaSrc], { stdio: "inherit" });
}

// node-pty is bundled into runtime.js; its native addon sits beside it, where node-pty looks ("./build/Release").
mkdirSync("dist/runtime/build/Release", { recursive: true });
copyFileSync("node_modules/node-pty/build/Release/pty.node", "dist/runtime/build/Release/pty.node");
