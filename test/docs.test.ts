import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { buildRouter } from "../src/server/app.js";
import type { SandboxManager } from "../src/sandboxes/index.js";
import type { PreviewProxy } from "../src/server/preview.js";

const root = new URL("..", import.meta.url).pathname;

describe("docs stay true", () => {
  it("documents every HTTP route in docs/openapi.yaml, and nothing that does not exist", () => {
    const spec = parse(readFileSync(`${root}/docs/openapi.yaml`, "utf8")) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(spec.paths))
      for (const method of Object.keys(ops)) if (method !== "parameters") documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`);
    // Route functions only register handlers; the manager is not used until a request comes.
    const routes = buildRouter({ sandboxes: {} as SandboxManager, egress: {} as never, snapshots: {} as never, transfers: {} as never, backups: {} as never, preview: {} as PreviewProxy, serverPort: () => 0 }).list();
    for (const r of routes) assert.ok(documented.has(r), `${r} is missing from docs/openapi.yaml`);
    for (const d of documented) if (d !== "GET /healthz" && !d.includes(" /e2b/")) assert.ok(routes.includes(d), `docs/openapi.yaml documents ${d}, which the server does not have`);
  });

  it("documents the E2B-compatible routes (served by src/e2b, not the router), and nothing more", async () => {
    const { E2B_ROUTES } = await import("../src/e2b/index.js");
    const spec = parse(readFileSync(`${root}/docs/openapi.yaml`, "utf8")) as { paths: Record<string, Record<string, unknown>> };
    const documented: string[] = [];
    for (const [path, ops] of Object.entries(spec.paths))
      if (path.startsWith("/e2b/")) for (const method of Object.keys(ops)) if (method !== "parameters") documented.push(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`);
    assert.deepEqual([...documented].sort(), [...E2B_ROUTES].sort());
  });

  it("lists every error code of the contract in the OpenAPI error schema", async () => {
    const { ERRORS } = await import("../src/contract/errors.js");
    const spec = parse(readFileSync(`${root}/docs/openapi.yaml`, "utf8"));
    const codes: string[] = spec.components.schemas.Error.properties.code.enum;
    assert.deepEqual([...codes].sort(), Object.keys(ERRORS).sort());
  });

  it("keeps the README's quick start to the two commands", () => {
    const readme = readFileSync(`${root}/README.md`, "utf8");
    const quick = readme.split("## Quick start")[1]!.split("##")[0]!;
    const block = /```sh\n([\s\S]*?)```/.exec(quick)![1]!;
    const commands = block.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
    assert.deepEqual(commands, ["npm start", "npm test"]);
  });
});
