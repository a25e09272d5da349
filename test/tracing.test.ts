import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/*
 * Traces: with OTEL_EXPORTER_OTLP_ENDPOINT pointed at a small OTLP/HTTP
 * receiver written here, an exec's spans arrive with their parent/child
 * links, the runtime's part included.
 */

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

describe("tracing", () => {
  let receiver: Server;
  let srv: TestServer;
  const spans: OtlpSpan[] = [];
  before(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d)).on("end", () => {
        if (req.url === "/v1/traces") for (const rs of JSON.parse(body).resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    const port = await new Promise<number>((r) => receiver.listen(0, "127.0.0.1", () => r((receiver.address() as { port: number }).port)));
    srv = await startTestServer({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
  });
  after(async () => {
    await srv.cleanup();
    receiver.close();
  });

  it("exports an exec's spans with parent/child links across the runtime", async () => {
    const sbx = srv.burrow.sandbox(name("trace"));
    await sbx.exec("sleep 0.05");
    const deadline = Date.now() + 10_000;
    const find = (n: string) => spans.find((s) => s.name === n);
    while (Date.now() < deadline && !find("runtime.exec")) await new Promise((r) => setTimeout(r, 50));
    const http = spans.find((s) => s.name === "HTTP POST /v1/sandboxes/:id/exec");
    const exec = find("exec");
    const runtime = find("runtime.exec");
    assert.ok(http && exec && runtime, `spans seen: ${spans.map((s) => s.name).join(", ")}`);
    assert.equal(exec!.parentSpanId, http!.spanId);
    assert.equal(runtime!.parentSpanId, exec!.spanId);
    assert.equal(new Set([http!.traceId, exec!.traceId, runtime!.traceId]).size, 1);
    const ms = (s: OtlpSpan) => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6;
    assert.ok(ms(runtime!) >= 40, `the runtime's span covers the command: ${ms(runtime!)} ms`);
    assert.ok(ms(exec!) >= ms(runtime!) - 1);
    assert.ok(exec!.attributes.some((a) => a.key === "sandbox" && a.value.stringValue === sbx.id));
    // A caller's traceparent becomes the parent of the request's span.
    const parent = "0af7651916cd43dd8448eb211c80319c";
    await srv.api("GET", "/v1/sandboxes", undefined, { traceparent: `00-${parent}-b7ad6b7169203331-01` });
    while (Date.now() < deadline + 5000 && !spans.some((s) => s.traceId === parent)) await new Promise((r) => setTimeout(r, 50));
    const list = spans.find((s) => s.traceId === parent);
    assert.equal(list?.parentSpanId, "b7ad6b7169203331");
  });
});
