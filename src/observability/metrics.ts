import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SandboxInfo } from "../contract/index.js";
import { channels, type AgentConnectionEvent, type AgentEvent, type AgentRpcEvent, type EgressEvent, type ExecEvent, type SandboxStartEvent } from "./channels.js";
import type { UsageMeter } from "./usage.js";

export interface MetricsSources {
  sandboxes(): SandboxInfo[];
  poolReady(): Record<string, number>;
  agentsLive(): number;
  usage: UsageMeter;
  /** Per-sandbox series (cpu, memory, disk, egress); off for large installations. */
  perSandbox: boolean;
}

const START_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 15];
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** The Prometheus registry of one server, fed by gauges read at scrape time and by channel events. */
export class Metrics {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];
  readonly http: {
    requests: Counter<"route" | "status">;
    duration: Histogram<"route">;
  };

  constructor(src: MetricsSources) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    new Gauge({
      name: "burrow_sandboxes",
      help: "Sandboxes by state.",
      labelNames: ["state"],
      registers: [r],
      collect() {
        const counts: Record<string, number> = { running: 0, sleeping: 0, crashed: 0 };
        for (const s of src.sandboxes()) counts[s.state] = (counts[s.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: "burrow_pool_ready",
      help: "Pre-started sandboxes waiting in the warm pool, per image.",
      labelNames: ["image"],
      registers: [r],
      collect() {
        for (const [image, n] of Object.entries(src.poolReady())) this.set({ image }, n);
      },
    });
    const starts = new Counter({ name: "burrow_sandbox_starts_total", help: "Sandbox starts by kind.", labelNames: ["kind"], registers: [r] });
    const startDuration = new Histogram({ name: "burrow_sandbox_start_duration_seconds", help: "Time to a ready runtime, by kind of start.", labelNames: ["kind"], buckets: START_BUCKETS, registers: [r] });
    const exec = new Histogram({ name: "burrow_exec_duration_seconds", help: "Exec round trips as the server saw them.", buckets: FAST_BUCKETS, registers: [r] });
    this.http = {
      requests: new Counter({ name: "burrow_http_requests_total", help: "API requests by route pattern and status.", labelNames: ["route", "status"], registers: [r] }),
      duration: new Histogram({ name: "burrow_http_request_duration_seconds", help: "API request durations by route pattern.", labelNames: ["route"], buckets: FAST_BUCKETS, registers: [r] }),
    };
    const egressConns = new Counter({ name: "burrow_egress_connections_total", help: "Egress connections by decision.", labelNames: ["decision"], registers: [r] });
    const rpc = new Histogram({ name: "burrow_agent_rpc_duration_seconds", help: "Agent RPC durations.", buckets: FAST_BUCKETS, registers: [r] });
    const agentConns = new Gauge({ name: "burrow_agent_connections", help: "Open agent WebSocket connections.", registers: [r] });
    const agentEvents = new Counter({ name: "burrow_agent_events_total", help: "Agent events by kind: connect, rpc, state, schedule, error.", labelNames: ["event"], registers: [r] });
    new Gauge({ name: "burrow_agents_live", help: "Agent instances in memory.", registers: [r], collect() { this.set(src.agentsLive()); } });

    if (src.perSandbox) {
      const cpu = new Counter({ name: "burrow_sandbox_cpu_seconds_total", help: "CPU time a sandbox used (cgroup accounting).", labelNames: ["sandbox"], registers: [r] });
      const mem = new Gauge({ name: "burrow_sandbox_memory_bytes", help: "Memory a running sandbox uses now.", labelNames: ["sandbox"], registers: [r] });
      const egressBytes = new Counter({ name: "burrow_egress_bytes_total", help: "Egress bytes per sandbox and direction.", labelNames: ["sandbox", "direction"], registers: [r] });
      const disk = new Gauge({ name: "burrow_sandbox_disk_bytes", help: "Bytes of a sandbox's own disk (upper layer), refreshed at most every 30 s.", labelNames: ["sandbox"], registers: [r] });
      // Counters must only grow: they take the metered totals at scrape time, as deltas.
      const seenCpu = new Map<string, number>();
      const diskAt = new Map<string, number>();
      new Gauge({
        name: "burrow_metrics_scrape_sandboxes",
        help: "Sandboxes covered by the per-sandbox series in this scrape.",
        registers: [r],
        async collect() {
          mem.reset();
          // One sample of every running sandbox for the whole scrape, not one per sandbox.
          src.usage.sample();
          const infos = src.sandboxes();
          for (const s of infos) {
            const wantDisk = Date.now() - (diskAt.get(s.id) ?? 0) > 30_000;
            const u = await src.usage.usage(s.id, s.createdAt, { disk: wantDisk, sample: false });
            const was = seenCpu.get(s.id) ?? 0;
            if (u.cpuSeconds > was) cpu.inc({ sandbox: s.id }, u.cpuSeconds - was);
            seenCpu.set(s.id, Math.max(was, u.cpuSeconds));
            if (s.state === "running") mem.set({ sandbox: s.id }, u.memoryBytes);
            if (wantDisk) {
              disk.set({ sandbox: s.id }, u.diskBytes);
              diskAt.set(s.id, Date.now());
            }
          }
          this.set(infos.length);
        },
      });
      this.on(channels.egress, (e: EgressEvent) => {
        egressBytes.inc({ sandbox: e.sandbox, direction: "in" }, e.bytesIn);
        egressBytes.inc({ sandbox: e.sandbox, direction: "out" }, e.bytesOut);
      });
    }
    this.on(channels.sandboxStart, (e: SandboxStartEvent) => {
      starts.inc({ kind: e.kind });
      startDuration.observe({ kind: e.kind }, e.durationMs / 1000);
    });
    this.on(channels.exec, (e: ExecEvent) => exec.observe(e.durationMs / 1000));
    this.on(channels.egress, (e: EgressEvent) => egressConns.inc({ decision: e.decision }));
    this.on(channels.agentRpc, (e: AgentRpcEvent) => {
      rpc.observe(e.durationMs / 1000);
      agentEvents.inc({ event: "rpc" });
    });
    this.on(channels.agentConnection, (e: AgentConnectionEvent) => {
      agentConns.inc(e.delta);
      if (e.delta > 0) agentEvents.inc({ event: "connect" });
    });
    this.on(channels.agentEvent, (e: AgentEvent) => agentEvents.inc({ event: e.event }));
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    this.registry.clear();
  }

  private on<T>(ch: { subscribe(f: (m: unknown) => void): void; unsubscribe(f: (m: unknown) => void): void }, f: (m: T) => void): void {
    const g = (m: unknown) => f(m as T);
    ch.subscribe(g);
    this.unsubscribe.push(() => ch.unsubscribe(g));
  }
}
