import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

/**
 * Traces in the OpenTelemetry model, exported as OTLP/HTTP JSON to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
 * With neither set, every call here is a no-op. A span's context flows
 * through async calls; `traceparent` (W3C) carries it into the sandbox's
 * runtime, which reports its own part back as a child span.
 */
export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  setAttribute(key: string, value: string | number | boolean): void;
  end(error?: unknown): void;
}

interface Recorded {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  start: bigint;
  end: bigint;
  attributes: Record<string, string | number | boolean>;
  error?: string;
}

/** What every call gets while tracing is off: one shared object, so the hot path makes no span objects. */
export const NOOP_SPAN: Span = Object.freeze({ traceId: "", spanId: "", setAttribute() {}, end() {} });
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
type Attributes = Record<string, string | number | boolean>;
const nowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
const hex = (n: number) => randomBytes(n).toString("hex");

export class Tracer {
  readonly enabled: boolean;
  private readonly url: string | undefined;
  private readonly current = new AsyncLocalStorage<{ traceId: string; spanId: string }>();
  private queue: Recorded[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    this.url = traces || (base ? `${base.replace(/\/$/, "")}/v1/traces` : undefined);
    this.enabled = !!this.url;
  }

  /**
   * Run `f` inside a new span: a child of `traceparent` (a W3C header) when
   * given, else of the current span; `null` starts a new trace (work a timer
   * started, whose async context is whatever call armed it).
   */
  async span<T>(name: string, attributes: Attributes, f: (span: Span) => Promise<T>, traceparent?: string | null): Promise<T> {
    if (!this.enabled) return f(NOOP_SPAN);
    const parent = traceparent === null ? undefined : (parseTraceparent(traceparent) ?? this.current.getStore());
    const rec: Recorded = { traceId: parent?.traceId ?? hex(16), spanId: hex(8), parentSpanId: parent?.spanId, name, start: nowNs(), end: 0n, attributes: { ...attributes } };
    const span: Span = {
      traceId: rec.traceId,
      spanId: rec.spanId,
      setAttribute: (k, v) => (rec.attributes[k] = v),
      end: (error) => {
        if (rec.end) return;
        rec.end = nowNs();
        if (error) rec.error = error instanceof Error ? error.message : String(error);
        this.record(rec);
      },
    };
    try {
      const out = await this.current.run({ traceId: rec.traceId, spanId: rec.spanId }, () => f(span));
      span.end();
      return out;
    } catch (err) {
      span.end(err);
      throw err;
    }
  }

  /** The `traceparent` header for a call made now (into a sandbox's runtime), or nothing when off. */
  headers(): Readonly<Record<string, string>> {
    const c = this.enabled ? this.current.getStore() : undefined;
    return c ? { traceparent: `00-${c.traceId}-${c.spanId}-01` } : NO_HEADERS;
  }

  /**
   * The runtime's part of the current span, from its answer's
   * `x-burrow-span: <startNs>-<endNs>`. A streamed answer says `<startNs>-`:
   * the runtime works until its last byte, so the span ends when `res` does.
   */
  remoteChild(name: string, res: { headers: Record<string, string | string[] | undefined>; once(ev: "close", f: () => void): unknown }, attributes: Attributes = {}): void {
    const c = this.enabled ? this.current.getStore() : undefined;
    const header = c ? res.headers["x-burrow-span"] : undefined;
    const m = typeof header === "string" ? /^(\d+)-(\d*)$/.exec(header) : null;
    if (!c || !m) return;
    const rec: Recorded = { traceId: c.traceId, spanId: hex(8), parentSpanId: c.spanId, name, start: BigInt(m[1]!), end: 0n, attributes };
    if (m[2]) return this.record({ ...rec, end: BigInt(m[2]) });
    res.once("close", () => this.record({ ...rec, end: nowNs() }));
  }

  /** A fetch that carries the current span into the request (an agent calling its sandbox through the API); plain fetch when off. */
  fetch(): typeof fetch {
    if (!this.enabled) return fetch;
    return (input, init) => {
      const extra = this.headers();
      if (!extra.traceparent) return fetch(input, init);
      const headers = new Headers(init?.headers);
      headers.set("traceparent", extra.traceparent);
      return fetch(input, { ...init, headers });
    };
  }

  async flush(): Promise<void> {
    if (!this.queue.length || !this.url) return;
    const spans = this.queue;
    this.queue = [];
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "burrow" } }] },
          scopeSpans: [{ scope: { name: "burrow" }, spans: spans.map(toOtlp) }],
        },
      ],
    };
    // Export failures never reach callers: tracing is best effort.
    await fetch(this.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).catch(() => {});
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
  }

  private record(r: Recorded): void {
    this.queue.push(r);
    if (this.queue.length >= 256) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, 500);
      this.timer.unref();
    }
  }
}

function parseTraceparent(h: string | undefined): { traceId: string; spanId: string } | undefined {
  const m = h ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(h) : null;
  return m ? { traceId: m[1]!, spanId: m[2]! } : undefined;
}

function toOtlp(r: Recorded) {
  return {
    traceId: r.traceId,
    spanId: r.spanId,
    ...(r.parentSpanId ? { parentSpanId: r.parentSpanId } : {}),
    name: r.name,
    kind: 1,
    startTimeUnixNano: r.start.toString(),
    endTimeUnixNano: r.end.toString(),
    attributes: Object.entries(r.attributes).map(([key, v]) => ({
      key,
      value: typeof v === "number" ? (Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }) : typeof v === "boolean" ? { boolValue: v } : { stringValue: v },
    })),
    status: r.error ? { code: 2, message: r.error } : { code: 1 },
  };
}

/** The process's tracer, configured from the environment (off unless an OTLP endpoint is set). */
export const tracer = new Tracer();
