import { Agent, request } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** A finished span, as the exporter keeps it until the next batch. */
export interface Recorded {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  start: bigint;
  end: bigint;
  attributes: Record<string, string | number | boolean>;
  error?: string;
}

/**
 * Batches finished spans and POSTs them as OTLP/HTTP JSON: every 500 ms, or
 * at 256 spans. One kept-alive node:http connection (fetch costs several
 * times the CPU per batch). Failures are dropped: tracing is best effort.
 */
export class OtlpExporter {
  private queue: Recorded[] = [];
  private timer: NodeJS.Timeout | undefined;
  private agent: Agent | undefined;

  constructor(private readonly url: string) {}

  add(r: Recorded): void {
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

  async flush(): Promise<void> {
    if (!this.queue.length) return;
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
    await this.post(JSON.stringify(body));
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
    this.agent?.destroy();
  }

  private post(json: string): Promise<void> {
    const url = new URL(this.url);
    const tls = url.protocol === "https:";
    this.agent ??= tls ? new HttpsAgent({ keepAlive: true, maxSockets: 2 }) : new Agent({ keepAlive: true, maxSockets: 2 });
    return new Promise((resolve) => {
      const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(json) };
      const req = (tls ? httpsRequest : request)(url, { method: "POST", agent: this.agent, headers }, (res) => {
        res.resume().on("end", resolve).on("error", () => resolve());
      });
      req.setTimeout(10_000, () => req.destroy());
      req.on("error", () => resolve());
      req.end(json);
    });
  }
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
