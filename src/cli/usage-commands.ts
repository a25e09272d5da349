import { connect } from "./connect.js";

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + " ".repeat(n - s.length));

/** `burrow usage [--since 24h]`: what each sandbox used in the period, for billing. */
export async function usage(args: string[]): Promise<void> {
  const i = args.indexOf("--since");
  const since = i >= 0 ? args[i + 1] : "24h";
  const m = /^(\d+)([hd])$/.exec(since ?? "");
  if (!m) throw new Error("--since takes hours or days, like 24h or 7d");
  const hours = Number(m[1]) * (m[2] === "d" ? 24 : 1);
  const to = new Date();
  const from = new Date(to.getTime() - hours * 3600_000);
  const r = await connect().usage({ from, to });
  console.log(`${pad("SANDBOX", 28)} ${pad("CPU s", 10)} ${pad("RUNNING s", 10)} ${pad("PEAK MEM", 10)} ${pad("EGRESS IN", 10)} EGRESS OUT`);
  for (const s of r.sandboxes)
    console.log(`${pad(s.sandbox, 28)} ${pad(s.cpuSeconds.toFixed(2), 10)} ${pad(s.runningSeconds.toFixed(0), 10)} ${pad(mb(s.memoryPeakBytes), 10)} ${pad(mb(s.egressBytesIn), 10)} ${mb(s.egressBytesOut)}`);
  if (!r.sandboxes.length) console.log(`(no usage from ${r.from} to ${r.to})`);
}

/** `burrow top [--once]`: running sandboxes with CPU %, memory and egress rate, refreshed every 2 s. */
export async function top(args: string[]): Promise<void> {
  const burrow = connect();
  const last = new Map<string, { at: number; cpu: number; egress: number }>();
  for (;;) {
    const list = (await burrow.list()).filter((s) => s.state === "running");
    const rows: string[] = [];
    for (const s of list) {
      const u = await burrow.sandbox(s.id).usage();
      const now = Date.now();
      const prev = last.get(s.id);
      const egress = u.egressBytesIn + u.egressBytesOut;
      const cpuPct = prev ? ((u.cpuSeconds - prev.cpu) / ((now - prev.at) / 1000)) * 100 : 0;
      const rate = prev ? (egress - prev.egress) / ((now - prev.at) / 1000) : 0;
      last.set(s.id, { at: now, cpu: u.cpuSeconds, egress });
      rows.push(`${pad(s.id, 28)} ${pad(`${cpuPct.toFixed(1)}%`, 8)} ${pad(mb(u.memoryBytes), 10)} ${pad(`${(rate / 1024).toFixed(1)} KB/s`, 12)} ${u.cpuSeconds.toFixed(2)}`);
    }
    const out = [`${pad("SANDBOX", 28)} ${pad("CPU", 8)} ${pad("MEMORY", 10)} ${pad("EGRESS", 12)} CPU s`, ...rows].join("\n");
    if (args.includes("--once")) {
      console.log(out);
      return;
    }
    process.stdout.write(`\x1b[H\x1b[2J${new Date().toISOString()}  ${list.length} running\n${out}\n`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
