import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { Metrics } from "../src/observability/metrics.js";

/*
 * The README's metric table (what a Grafana board is built from) and the
 * OpenAPI /metrics description name every family the server registers, and
 * nothing it does not. No server: the registry is built with empty sources
 * and never collected.
 */
const root = new URL("..", import.meta.url).pathname;

describe("observability docs stay true", () => {
  const m = new Metrics({ sandboxes: () => [], poolReady: () => ({}), agentsLive: () => 0, usage: undefined as never, perSandbox: true });
  const types = new Map(m.registry.getMetricsAsArray().filter((x) => x.name.startsWith("burrow_")).map((x) => [x.name, (x as unknown as { type: string }).type]));
  const families = [...types.keys()];
  m.close();

  it("lists every burrow_ family in the README's Observing Burrow table, with its type", () => {
    const readme = readFileSync(`${root}/README.md`, "utf8");
    const section = readme.slice(readme.indexOf("## Observing Burrow"), readme.indexOf("\n## ", readme.indexOf("## Observing Burrow") + 5));
    const rows = new Map([...section.matchAll(/^\| `(burrow_[a-z_]+)(?:\{[^}]*\})?` \| (\w+) \|/gm)].map((r) => [r[1]!, r[2]!]));
    for (const f of families) assert.ok(rows.has(f), `${f} is missing from the README's metric table`);
    for (const f of rows.keys()) assert.ok(families.includes(f), `the README lists ${f}, which the server does not register`);
    for (const [f, t] of rows) assert.equal(t, types.get(f), `${f} is a ${types.get(f)}`);
  });

  it("names every family in the OpenAPI description of GET /metrics", () => {
    const spec = parse(readFileSync(`${root}/docs/openapi.yaml`, "utf8")) as { paths: Record<string, { get: { description: string } }> };
    const text = spec.paths["/metrics"]!.get.description;
    for (const f of families) assert.ok(text.includes(f), `${f} is missing from docs/openapi.yaml GET /metrics`);
  });
});
