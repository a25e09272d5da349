/**
 * The `burrow` command: `serve` runs the server; the others are a thin
 * client over the HTTP API (they use the SDK like any program would).
 */
import { BurrowApiError } from "../client/index.js";
import * as commands from "./commands.js";
import * as snapshots from "./snapshot-commands.js";
import { logs } from "./logs-command.js";
import { top, usage } from "./usage-commands.js";
import { connect } from "./connect.js";
import { serveStdio } from "../mcp/index.js";

const USAGE = `usage: burrow <command>
  serve [--port N] [--data DIR] [--data-volume SIZE] [--default-disk-mb N] [--egress-allow HOST[:PORT]] [--agents MODULE] [--examples] [--config MODULE] [--pool N]   run the server
        [--extra-ca-certs FILE]        a PEM bundle of CAs every sandbox (and the egress proxy's upstream checks) trusts
        [--metrics-port N] [--metrics-per-sandbox true|false] [--log-format json|pretty] [--log-level info|debug|...]
        [--blob-signing-key FILE]      HMAC key that signs pushed snapshot manifests and authenticates pulled ones
        [--upstream-proxy URL|none]    dial the internet through http://[user:password@]host:port (default: HTTPS_PROXY/HTTP_PROXY, NO_PROXY)
  ls                                   list sandboxes
  exec <id> [--cwd DIR] -- cmd [args]  run a command, stream its output, exit with its code
  sh <id> [--terminal TID]             an interactive terminal in the sandbox (reattach with --terminal)
  cp <id>:/path <local> | <local> <id>:/path   copy a file out of or into a sandbox ('-' = stdio)
  sleep <id>                           put a sandbox to sleep now
  rm <id>...                           destroy sandboxes
  image ls | ensure-default | rebuild default | import <name> <rootfs-dir|docker-save.tar|oci-layout> | prune [name]
                                       versions of images (sizes, sandboxes on each); prune removes versions nothing stands on
  snapshot <id> | ls | rm <sid> | push <sid> | pull <sid>   freeze a disk; move snapshots to and from the blob store
  fork <sid> <name>... | --count N     new sandboxes standing on a snapshot
  logs --egress <id> [--limit N]       a sandbox's outbound connections (the egress audit)
  top [--once]                         running sandboxes live: CPU %, memory, egress rate
  usage [--since 24h|7d]               what each sandbox used in a period (CPU s, running s, peak memory, egress)
  mcp                                  serve the sandbox tools to an MCP client over stdio (for clients that spawn a command)
Client commands use BURROW_URL (default http://127.0.0.1:7070) and BURROW_TOKEN
(default: the token file in BURROW_DATA, /var/lib/burrow).`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case "serve": await commands.serve(args); return -1;
    case "ls": await commands.ls(); return 0;
    case "exec": return commands.exec(args);
    case "cp": await commands.cp(args); return 0;
    case "sh": return commands.sh(args);
    case "sleep": await commands.sleep(args); return 0;
    case "rm": await commands.rm(args); return 0;
    case "image": await commands.image(args); return 0;
    case "snapshot": await snapshots.snapshot(args); return 0;
    case "fork": await snapshots.fork(args); return 0;
    case "logs": await logs(args); return 0;
    case "top": await top(args); return 0;
    case "usage": await usage(args); return 0;
    case "mcp": await serveStdio(connect(), "0.1.0"); return -1;
    case undefined: case "help": case "--help": case "-h": console.log(USAGE); return 0;
    default: console.error(`burrow: unknown command ${cmd}\n${USAGE}`); return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    if (err instanceof BurrowApiError) console.error(`burrow: ${err.code}: ${err.message}`);
    else console.error(`burrow: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
