import { randomFillSync } from "node:crypto";
import { OtlpExporter, type Recorded } from "./otlp.js";

/**
 * Traces in the OpenTelemetry model, exported as OTLP/HTTP JSON to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
 * With neither set, every call here is a no-op on one shared span.
 *
 * Parents are passed along explicitly (an API request's span is found from
 * its request object, a sandbox start's from the request waiting for it):
 * an AsyncLocalStorage of its own would hook every promise in the process,
 * which profiling showed to cost about 8% of an exec's CPU. Agents carry
 * their RPC's span in the async context they keep anyway (agents/rpc.ts),
 * so their sandbox calls can find it (`fetch`). `traceparent` (W3C) carries
 * a span into the sandbox's runtime, which reports its own part back as a
 * child span (`remoteChild`).
 */
export interface SpanContext {
  readonly traceId: string;
  readonly spanId: string;
}
export interface Span extends SpanContext {
  setAttribute(key: string, value: string | number | boolean): void;
  end(error?: unknown): void;
}
type Attributes = Record<string, string | number | boolean>;
/** A parent: a span, a W3C traceparent header, or nothing (a new trace). */
type Parent = SpanContext | string | null | undefined;

/** What every call gets while tracing is off: one shared object, so the hot path makes no span objects. */
export const NOOP_SPAN: Span = Object.freeze({ traceId: "", spanId: "", setAttribute() {}, end() {} });
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const nowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
// Ids come from a pool of random bytes filled 4 KiB at a time: one getrandom call per ~500 spans, not one per id.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
const hex = (n: number): string => {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool.toString("hex", poolAt, (poolAt += n));
};

export class Tracer {
  readonly enabled: boolean;
  private readonly exporter: OtlpExporter | undefined;
  private readonly requests = new WeakMap<object, Span>();
  private readonly starts = new Map<string, SpanContext>();

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    const url = traces || (base ? `${base.replace(/\/$/, "")}/v1/traces` : undefined);
    this.enabled = !!url;
    this.exporter = url ? new OtlpExporter(url) : undefined;
  }

  /** Run `f` in a new span, a child of `parent` (explicit: no async context is involved). */
  async child<T>(parent: Parent, name: string, attributes: Attributes, f: (span: Span) => Promise<T>): Promise<T> {
    if (!this.enabled) return f(NOOP_SPAN);
    const span = this.open(parent, name, attributes);
    try {
      const out = await f(span);
      span.end();
      return out;
    } catch (err) {
      span.end(err);
      throw err;
    }
  }

  /** An API request's span, a child of the caller's `traceparent`; `of(req)` finds it for the route's own spans. */
  request<T>(req: object, traceparent: string | undefined, name: string, attributes: Attributes, f: () => Promise<T>): Promise<T> {
    return this.child(traceparent, name, attributes, (span) => {
      this.requests.set(req, span);
      return f();
    });
  }

  of(req: object): Span | undefined {
    return this.enabled ? this.requests.get(req) : undefined;
  }

  /**
   * `f` may start sandbox `id` on behalf of `parent`: a `sandbox.start` span
   * made meanwhile (see `startParent`) is its child. The first waiter wins.
   */
  async awaitingStart<T>(id: string, parent: SpanContext | undefined, f: () => Promise<T>): Promise<T> {
    if (!parent || this.starts.has(id)) return f();
    this.starts.set(id, parent);
    try {
      return await f();
    } finally {
      this.starts.delete(id);
    }
  }

  startParent(id: string): SpanContext | undefined {
    return this.enabled ? this.starts.get(id) : undefined;
  }

  /** The `traceparent` header for a call made inside `span`, or nothing when off. */
  headers(span: SpanContext | undefined): Readonly<Record<string, string>> {
    return this.enabled && span?.spanId ? { traceparent: `00-${span.traceId}-${span.spanId}-01` } : NO_HEADERS;
  }

  /**
   * The runtime's part of `parent`, from its answer's
   * `x-burrow-span: <startNs>-<endNs>`. A streamed answer says `<startNs>-`:
   * the runtime works until its last byte, so the span ends when `res` does.
   */
  remoteChild(parent: SpanContext, name: string, res: { headers: Record<string, string | string[] | undefined>; once(ev: "close", f: () => void): unknown }, attributes: Attributes = {}): void {
    const header = this.enabled && parent.spanId ? res.headers["x-burrow-span"] : undefined;
    const m = typeof header === "string" ? /^(\d+)-(\d*)$/.exec(header) : null;
    if (!m) return;
    const rec: Recorded = { traceId: parent.traceId, spanId: hex(8), parentSpanId: parent.spanId, name, start: BigInt(m[1]!), end: 0n, attributes };
    if (m[2]) return this.exporter!.add({ ...rec, end: BigInt(m[2]) });
    res.once("close", () => this.exporter!.add({ ...rec, end: nowNs() }));
  }

  /** `base` carrying the span `current()` names into the request (an agent calling its sandbox through the API); `base` itself when off. */
  fetch(current: () => SpanContext | undefined, base: typeof fetch = fetch): typeof fetch {
    if (!this.enabled) return base;
    return (input, init) => {
      const extra = this.headers(current());
      if (!extra.traceparent) return base(input, init);
      const headers = new Headers(init?.headers);
      headers.set("traceparent", extra.traceparent);
      return base(input, { ...init, headers });
    };
  }

  async flush(): Promise<void> {
    await this.exporter?.flush();
  }

  async close(): Promise<void> {
    await this.exporter?.close();
  }

  private open(parent: Parent, name: string, attributes: Attributes): Span {
    const p = typeof parent === "string" ? parseTraceparent(parent) : parent ?? undefined;
    const rec: Recorded = { traceId: p?.traceId || hex(16), spanId: hex(8), parentSpanId: p?.spanId || undefined, name, start: nowNs(), end: 0n, attributes: { ...attributes } };
    return {
      traceId: rec.traceId,
      spanId: rec.spanId,
      setAttribute: (k, v) => (rec.attributes[k] = v),
      end: (error) => {
        if (rec.end) return;
        rec.end = nowNs();
        if (error) rec.error = error instanceof Error ? error.message : String(error);
        this.exporter!.add(rec);
      },
    };
  }
}

function parseTraceparent(h: string): SpanContext | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(h);
  return m ? { traceId: m[1]!, spanId: m[2]! } : undefined;
}

/** The process's tracer, configured from the environment (off unless an OTLP endpoint is set). */
export const tracer = new Tracer();
