import { connect } from "./connect.js";

/** `burrow logs --egress <id> [--limit N]`: the sandbox's outbound connections. */
export async function logs(args: string[]): Promise<void> {
  const id = args.find((a) => !a.startsWith("--") && a !== args[args.indexOf("--limit") + 1]);
  if (!args.includes("--egress") || !id) throw new Error("usage: burrow logs --egress <sandbox> [--limit N]");
  const limit = args.includes("--limit") ? Number(args[args.indexOf("--limit") + 1]) : 100;
  for (const e of await connect().sandbox(id).egressAudit({ limit })) {
    const what = e.method ? `${e.method} ${e.host}:${e.port}${e.path && e.method !== "CONNECT" ? e.path : ""}` : `${e.host}:${e.port}`;
    const tail = e.decision === "denied" ? `DENIED ${e.reason}` : `${e.status ?? ""} ${e.mode}${e.handler ? ` via ${e.handler}` : ""}${e.upstreamProxy ? ` through ${e.upstreamProxy}` : ""} out ${e.bytesOut} B in ${e.bytesIn} B ${e.durationMs} ms`;
    console.log(`${e.at}  ${what}  ${tail}`);
  }
}
