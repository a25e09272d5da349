import type { TransferProgress } from "../contract/index.js";
import { connect } from "./connect.js";
import { progressLine } from "./progress.js";

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** `burrow snapshot <id>` | `snapshot ls` | `snapshot rm <sid>` | `snapshot push|pull <sid>` */
export async function snapshot(args: string[]): Promise<void> {
  const b = connect();
  const [sub, arg] = args;
  if (!sub) throw new Error("usage: burrow snapshot <sandbox> | ls | rm <snapshot> | push <snapshot> | pull <snapshot>");
  if (sub === "ls") {
    for (const s of await b.listSnapshots())
      console.log(`${s.id}  ${s.sandboxId.padEnd(24)} ${s.kind.padEnd(5)} depth ${s.depth}  ${mib(s.sizeBytes).padStart(10)}  ${s.archive ? "pushed" : "local"}  ${s.createdAt}`);
    return;
  }
  if (sub === "rm") return void (await b.deleteSnapshot(required(arg, "snapshot id")));
  if (sub === "push" || sub === "pull") return void (await transfer(sub, required(arg, "snapshot id")));
  const s = await b.sandbox(sub).snapshot();
  console.log(s.id);
}

/** Push or pull with a live progress line. */
async function transfer(kind: "push" | "pull", sid: string): Promise<void> {
  const b = connect();
  const line = progressLine(`${kind} ${sid}`);
  const onProgress = (p: TransferProgress) => line.update(`${p.phase} ${mib(p.bytes)}${p.totalBytes ? ` of ${mib(p.totalBytes)}` : ""}`);
  const s = kind === "push" ? await b.pushSnapshot(sid, { onProgress }) : await b.pullSnapshot(sid, { onProgress });
  line.done(`${mib(s.archive?.sizeBytes ?? s.sizeBytes)} sha256:${s.archive?.digest.slice(0, 16)}…`);
}

/** `burrow fork <snapshot> <name>...` or `burrow fork <snapshot> --count N` */
export async function fork(args: string[]): Promise<void> {
  const [sid, ...rest] = args;
  const count = rest[0] === "--count" ? Number(rest[1]) : undefined;
  if (!sid || (!count && !rest.length)) throw new Error("usage: burrow fork <snapshot> <name>... | --count N");
  const forks = await connect().fork(sid, count ? { count } : rest);
  for (const f of forks) console.log(f.id);
}

function required(v: string | undefined, what: string): string {
  if (!v) throw new Error(`give the ${what}`);
  return v;
}
