import { createReadStream, createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { loadConfig, startServer } from "../server/index.js";
import { ensureDefaultImage } from "./image-commands.js";
import { connect } from "./connect.js";
import { loadAgentClasses } from "./load-agents.js";
import { loadServerConfigModule } from "./load-config.js";
import { isAgentClass } from "../agents/index.js";
import type { AgentClass } from "../agents/instance.js";
import { kebab } from "../agents/kebab.js";

const ago = (iso: string) => {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

export async function serve(argv: string[]): Promise<void> {
  const config = loadConfig(argv);
  // The default image follows Burrow's package list: a new list builds a new version beside the old ones.
  if (config.defaultImage === "default") await ensureDefaultImage();
  // Loaded while the server starts and listens (a module importing a model SDK takes most of a second):
  // agent requests wait for them, the rest of the API does not.
  const agentClasses = (async () => [
    ...(config.examples ? Object.values(await import(new URL("./examples.js", import.meta.url).href)).filter(isAgentClass) : []),
    ...(config.agentsModule ? await loadAgentClasses(config.agentsModule, config.cacheDir) : []),
  ] as AgentClass[])();
  agentClasses.catch(() => {}); // handled below, once the server is up
  const modules = config.configModule ? await loadServerConfigModule(config.configModule, config.cacheDir) : { egress: {} };
  const server = await startServer(config, agentClasses, modules);
  console.log(`Burrow is serving on ${server.url}`);
  server.agentsReady.then(
    (classes) => classes.length && console.log(`  agents: ${classes.map((c) => `${server.url}/agents/${kebab(c.name)}/<name>`).join(", ")}`),
    async (err) => {
      // As a module that fails to load always did: the server does not run without its agents.
      console.error(`burrow: the agents module failed to load: ${(err as Error).message}`);
      await server.close();
      process.exit(1);
    },
  );
  console.log(`  data:  ${config.dataDir}`);
  console.log(`  token: ${server.token}`);
  console.log(`  dashboard: ${server.url}/login?token=${encodeURIComponent(server.token)}  (sign-in link: sets a session cookie, then opens the dashboard)`);
  console.log(`Try: curl -H "Authorization: Bearer ${server.token}" -X POST ${server.url}/v1/sandboxes/hello/exec -d '{"command":"uname -a"}'`);
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    console.log(config.stopSandboxes ? "Burrow: putting sandboxes to sleep and stopping" : "Burrow: stopping; running sandboxes keep running (--stop-sandboxes puts them to sleep)");
    await server.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

export { ensureDefaultImage, image } from "./image-commands.js";

export async function ls(): Promise<void> {
  const list = await connect().list();
  if (!list.length) return console.log("no sandboxes");
  console.log(`${"ID".padEnd(28)} ${"STATE".padEnd(9)} ${"IMAGE".padEnd(10)} ${"LAST ACTIVE".padEnd(12)} LIMITS`);
  for (const s of list)
    console.log(`${s.id.padEnd(28)} ${s.state.padEnd(9)} ${s.image.padEnd(10)} ${ago(s.lastActiveAt).padEnd(12)} ${s.limits.memoryMB} MB, ${s.limits.cpus} cpu, ${s.limits.pids} pids${s.limits.diskMB ? `, ${s.limits.diskMB} MB disk` : ""}${s.keepAlive ? ", keepAlive" : ""}`);
}

/** `burrow exec <id> [--cwd DIR] -- cmd args...`: streams output, exits with the command's code. */
export async function exec(args: string[]): Promise<number> {
  const sep = args.indexOf("--");
  const head = sep >= 0 ? args.slice(0, sep) : args.slice(0, 1);
  const cmd = sep >= 0 ? args.slice(sep + 1) : args.slice(1);
  const id = head[0];
  if (!id || !cmd.length) throw new Error("usage: burrow exec <id> [--cwd DIR] -- command [args...]");
  const cwdAt = head.indexOf("--cwd");
  const cwd = cwdAt >= 0 ? head[cwdAt + 1] : undefined;
  const command = cmd.length === 1 ? cmd[0]! : cmd;
  const r = await connect().sandbox(id).exec(command, {
    cwd,
    stream: true,
    onOutput: (s, d) => (s === "stdout" ? process.stdout : process.stderr).write(d),
  });
  return r.exitCode;
}

/** `burrow cp <id>:<path> <local>` or `burrow cp <local> <id>:<path>`; `-` is stdin/stdout. */
export async function cp(args: string[]): Promise<void> {
  const [from, to] = args;
  const remote = (s: string | undefined) => (s && /^[a-z0-9-]+:\//.test(s) ? { id: s.slice(0, s.indexOf(":")), path: s.slice(s.indexOf(":") + 1) } : undefined);
  const src = remote(from);
  const dst = remote(to);
  if (!from || !to || !!src === !!dst) throw new Error("usage: burrow cp <id>:/path <local> | burrow cp <local> <id>:/path");
  const b = connect();
  if (src) {
    const stream = await b.sandbox(src.id).readFileStream(src.path);
    await pipeline(Readable.fromWeb(stream as never), to === "-" ? process.stdout : createWriteStream(to));
  } else {
    const input = from === "-" ? process.stdin : createReadStream(from);
    const r = await b.sandbox(dst!.id).writeFile(dst!.path, Readable.toWeb(input) as ReadableStream<Uint8Array>);
    console.error(`wrote ${r.size} bytes to ${dst!.id}:${r.path}`);
  }
}

export async function sleep(args: string[]): Promise<void> {
  if (!args[0]) throw new Error("usage: burrow sleep <id>");
  await connect().sandbox(args[0]).sleep();
  console.log(`${args[0]} is asleep; its disk is kept and the next request wakes it`);
}

export async function rm(args: string[]): Promise<void> {
  if (!args.length) throw new Error("usage: burrow rm <id> [id...]");
  for (const id of args) {
    await connect().sandbox(id).destroy();
    console.log(`${id} destroyed`);
  }
}

/** `burrow sh <id> [--terminal ID]`: an interactive terminal in this terminal. Exits with the shell's code. */
export async function sh(args: string[]): Promise<number> {
  const id = args[0];
  if (!id) throw new Error("usage: burrow sh <id> [--terminal TERMINAL_ID]");
  const at = args.indexOf("--terminal");
  const out = process.stdout;
  const term = await connect()
    .sandbox(id)
    .terminal({ cols: out.columns || 80, rows: out.rows || 24, terminalId: at >= 0 ? args[at + 1] : undefined });
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.resume();
  stdin.on("data", (d: Buffer) => term.write(d));
  term.onData((d) => out.write(d));
  const onResize = () => term.resize(out.columns || 80, out.rows || 24);
  process.on("SIGWINCH", onResize);
  const code = await Promise.race([term.exited, new Promise<number>((r) => stdin.once("end", () => r(0)))]);
  process.off("SIGWINCH", onResize);
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  await term.close();
  return code;
}
