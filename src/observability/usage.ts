import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sampleCgroup } from "./cgroup.js";
import { emptyUsage, type UsageDelta, UsageStore } from "./usage-store.js";

/** What the sampler needs to know about sandboxes, from the sandboxes domain. */
export interface RunningSandboxes {
  /** Ids of the sandboxes running now. */
  running(): string[];
  /** Where a sandbox's files are on the host (its init's pid file and upper layer). */
  dir(id: string): string;
}

export interface Usage {
  cpuSeconds: number;
  memoryBytes: number;
  memoryPeakBytes: number;
  diskBytes: number;
  egressBytesOut: number;
  egressBytesIn: number;
  runningSeconds: number;
  sleepingSeconds: number;
  since: string;
}

interface Live {
  pid: number;
  lastCpu: number;
  memoryBytes: number;
  lastSeen: number;
}

/**
 * Meters what each sandbox uses. Once a second it reads the cgroup of every
 * running sandbox (sleeping ones cost nothing) and adds the CPU time used
 * since the last look; egress bytes come from the proxy's events. Deltas go
 * to SQLite every few seconds, so totals survive sleep, wake and restarts
 * (at most the last flush interval is lost to a kill -9).
 */
export class UsageMeter {
  private readonly live = new Map<string, Live>();
  private pending = new Map<string, UsageDelta>();
  private readonly timers: NodeJS.Timeout[] = [];
  private ticks = 0;

  constructor(
    private readonly store: UsageStore,
    private readonly sandboxes: RunningSandboxes,
    private readonly options: { sampleMs?: number; flushEvery?: number } = {},
  ) {}

  start(): void {
    const t = setInterval(() => this.sample(), this.options.sampleMs ?? 1000);
    t.unref();
    this.timers.push(t);
  }

  /** Egress bytes of one finished connection. */
  addEgress(sandbox: string, bytesIn: number, bytesOut: number): void {
    const d = this.delta(sandbox);
    d.egressBytesIn += bytesIn;
    d.egressBytesOut += bytesOut;
  }

  /** Sample now (also used by tests and the usage route, so answers are fresh). */
  sample(): void {
    const now = Date.now();
    const running = new Set(this.sandboxes.running());
    for (const id of running) {
      const pid = this.pidOf(id);
      if (!pid) continue;
      let l = this.live.get(id);
      const s = sampleCgroup(pid);
      if (!s) continue;
      if (!l || l.pid !== pid) {
        // A new container: its cgroup counts from zero, so everything it shows is new.
        l = { pid, lastCpu: 0, memoryBytes: 0, lastSeen: now };
        this.live.set(id, l);
      }
      const d = this.delta(id);
      d.cpuSeconds += Math.max(0, s.cpuSeconds - l.lastCpu);
      d.runningSeconds += (now - l.lastSeen) / 1000;
      d.memoryPeakBytes = Math.max(d.memoryPeakBytes, s.memoryPeakBytes);
      l.lastCpu = s.cpuSeconds;
      l.lastSeen = now;
      l.memoryBytes = s.memoryBytes;
    }
    for (const id of [...this.live.keys()]) if (!running.has(id)) this.live.delete(id);
    if (++this.ticks % (this.options.flushEvery ?? 5) === 0) this.flush();
  }

  flush(): void {
    if (!this.pending.size) return;
    const batch = this.pending;
    this.pending = new Map();
    this.store.add(batch, new Date());
    this.store.prune(new Date());
  }

  /** A sandbox's usage, totals plus what is not flushed yet. */
  async usage(id: string, createdAt: string, opts: { disk?: boolean; sample?: boolean } = {}): Promise<Usage> {
    if (opts.sample !== false) this.sample();
    const t = this.store.totals(id);
    const p = this.pending.get(id) ?? emptyUsage();
    const running = (t?.runningSeconds ?? 0) + p.runningSeconds;
    const since = t?.since ?? createdAt;
    return {
      cpuSeconds: round((t?.cpuSeconds ?? 0) + p.cpuSeconds),
      memoryBytes: this.live.get(id)?.memoryBytes ?? 0,
      memoryPeakBytes: Math.max(t?.memoryPeakBytes ?? 0, p.memoryPeakBytes),
      diskBytes: opts.disk === false ? 0 : await duBytes(join(this.sandboxes.dir(id), "upper")),
      egressBytesOut: (t?.egressBytesOut ?? 0) + p.egressBytesOut,
      egressBytesIn: (t?.egressBytesIn ?? 0) + p.egressBytesIn,
      runningSeconds: round(running),
      sleepingSeconds: round(Math.max(0, (Date.now() - Date.parse(since)) / 1000 - running)),
      since,
    };
  }

  /** Every running sandbox now, from one sample: CPU seconds so far (a rate is two readings apart) and memory in use. */
  running(): { sandbox: string; cpuSeconds: number; memoryBytes: number }[] {
    this.sample();
    return [...this.live.keys()].map((id) => {
      const t = this.store.totals(id);
      const p = this.pending.get(id);
      return { sandbox: id, cpuSeconds: round((t?.cpuSeconds ?? 0) + (p?.cpuSeconds ?? 0)), memoryBytes: this.live.get(id)!.memoryBytes };
    });
  }

  /** Per sandbox, what it used in a period (hourly buckets), for billing. */
  period(from: Date, to: Date): ({ sandbox: string } & UsageDelta)[] {
    this.flush();
    return this.store.period(from, to);
  }

  /** CPU seconds and memory of running sandboxes, for metrics. */
  liveFigures(): { id: string; memoryBytes: number }[] {
    return [...this.live].map(([id, l]) => ({ id, memoryBytes: l.memoryBytes }));
  }

  forget(id: string): void {
    this.live.delete(id);
    this.pending.delete(id);
    this.store.forget(id);
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.flush();
  }

  private delta(id: string): UsageDelta {
    let d = this.pending.get(id);
    if (!d) this.pending.set(id, (d = emptyUsage()));
    return d;
  }

  private pidOf(id: string): number | undefined {
    try {
      return Number(readFileSync(join(this.sandboxes.dir(id), "pid"), "utf8").trim()) || undefined;
    } catch {
      return undefined;
    }
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Bytes of a sandbox's upper layer (`du` never follows links). */
function duBytes(dir: string): Promise<number> {
  return new Promise((resolve) => execFile("du", ["-sb", "--", dir], (err, out) => resolve(err ? 0 : Number(out.split("\t")[0]) || 0)));
}
