import { join } from "node:path";
import type { SandboxInfo } from "../contract/index.js";
import { channels, type AgentEvent, type EgressEvent, type LogEvent, type SandboxLifecycleEvent } from "./channels.js";
import { createLogger, type Logger, type LogOptions, newRequestId } from "./logger.js";
import { Metrics } from "./metrics.js";
import { type RunningSandboxes, UsageMeter } from "./usage.js";
import { UsageStore } from "./usage-store.js";
import { tracer } from "./tracing.js";

export { channels, messageOf, publish, report } from "./channels.js";
export { tracer, type Span } from "./tracing.js";
export type { Logger } from "./logger.js";
export type { Usage } from "./usage.js";
export { newRequestId };

export interface ObservabilityOptions {
  dataDir: string;
  log: LogOptions;
  perSandbox: boolean;
  sandboxes: RunningSandboxes & { list(): SandboxInfo[]; poolReady(): Record<string, number> };
  agentsLive: () => number;
}

/** Metrics, usage metering and logging for one server (see README.md). */
export class Observability {
  readonly logger: Logger;
  readonly usage: UsageMeter;
  readonly metrics: Metrics;
  private readonly store: UsageStore;
  private readonly offs: (() => void)[] = [];

  constructor(opts: ObservabilityOptions) {
    this.logger = createLogger(opts.log);
    this.store = new UsageStore(join(opts.dataDir, "burrow.db"));
    this.usage = new UsageMeter(this.store, opts.sandboxes);
    this.metrics = new Metrics({
      sandboxes: () => opts.sandboxes.list(),
      poolReady: () => opts.sandboxes.poolReady(),
      agentsLive: opts.agentsLive,
      usage: this.usage,
      perSandbox: opts.perSandbox,
    });
    this.on(channels.egress, (e: EgressEvent) => {
      this.usage.addEgress(e.sandbox, e.bytesIn, e.bytesOut);
      this.logger[e.decision === "deny" ? "info" : "debug"]({ event: "egress.decision", ...e }, `egress ${e.decision} ${e.host}:${e.port}`);
    });
    this.on(channels.agentEvent, (e: AgentEvent) => {
      if (e.event === "error") this.logger.warn({ event: "agent.error", agent: e.agent, name: e.name, where: e.detail, error: e.error }, `agent ${e.agent}/${e.name}: ${e.error}`);
    });
    this.on(channels.log, ({ level, event, msg, ...fields }: LogEvent) => this.logger[level]({ event, ...fields }, msg));
    this.on(channels.sandboxLifecycle, (e: SandboxLifecycleEvent) => {
      this.logger[e.event === "crash" ? "warn" : "info"]({ event: `sandbox.${e.event}`, sandbox: e.id, detail: e.detail }, `sandbox ${e.event}`);
      if (e.event === "destroy") this.usage.forget(e.id);
    });
    this.usage.start();
  }

  close(): void {
    void tracer.close();
    for (const off of this.offs) off();
    this.usage.close();
    this.metrics.close();
    this.store.close();
    this.logger.flush?.();
  }

  private on<T>(ch: { subscribe(f: (m: unknown) => void): void; unsubscribe(f: (m: unknown) => void): void }, f: (m: T) => void): void {
    const g = (m: unknown) => f(m as T);
    ch.subscribe(g);
    this.offs.push(() => ch.unsubscribe(g));
  }
}
