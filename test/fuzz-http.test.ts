import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { buildRouter } from "../src/server/app.js";
import { ERRORS, SandboxId } from "../src/contract/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/**
 * Random and malformed input against every HTTP route: odd ids and path
 * segments, malformed JSON, wrong types, odd in-sandbox paths. Whatever comes
 * in, the answer is never a 5xx, every refusal is a 4xx with a code from the
 * error table and a sentence, and the server keeps serving. Bounded: about
 * 300 requests and a time limit per property.
 */
const ROUTES = buildRouter({ sandboxes: {} as never, egress: {} as never, snapshots: {} as never, transfers: {} as never, backups: {} as never, preview: {} as never, serverPort: () => 0 })
  .list()
  .map((r) => {
    const [method, pattern] = r.split(" ") as [string, string];
    return { method, pattern };
  });

/** Valid-looking values for the other path parameters, so the id is what is under test. */
const OTHER: Record<string, string> = { sid: "snap-0123456789ab", pid: "p1", port: "8000", ctx: "ctx-0123456789", bid: "bak-0123456789ab", sessionId: "s1" };

interface Answer {
  status: number;
  body: string;
}

function send(srv: TestServer, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: srv.port, method, path, headers: { authorization: `Bearer ${srv.token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path.slice(0, 200)} took over 60 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Never a 5xx; a refusal carries a stable code and a sentence. */
function check(a: Answer, what: string): void {
  assert.ok(a.status < 500, `${what} -> ${a.status} ${a.body.slice(0, 300)}`);
  if (a.status >= 400) {
    let parsed: { code?: unknown; message?: unknown };
    try {
      parsed = JSON.parse(a.body);
    } catch {
      assert.fail(`${what} -> ${a.status} without a JSON body: ${a.body.slice(0, 200)}`);
    }
    assert.ok(typeof parsed.code === "string" && parsed.code in ERRORS, `${what} -> unknown code ${String(parsed.code)}`);
    assert.ok(typeof parsed.message === "string" && parsed.message.length > 10, `${what} -> no sentence`);
  }
}

/*
 * The docs must keep up: a status a route really answers is one docs/openapi.yaml
 * lists for it, or one it lists for every route (x-every-route).
 */
const SPEC = parse(readFileSync(new URL("../docs/openapi.yaml", import.meta.url), "utf8")) as {
  "x-every-route"?: number[];
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
};
const undocumented = new Set<string>();
function documented(method: string, pattern: string, status: number): void {
  if ((SPEC["x-every-route"] ?? []).includes(status)) return;
  const op = SPEC.paths[pattern.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()];
  if (!op?.responses?.[String(status)]) undocumented.add(`${method} ${pattern} ${status}`);
}

/** Ids the server must refuse, as they would appear in a raw path. */
const oddId = fc.oneof(
  fc.constantFrom(".", "..", "%2e", "%2E%2e", ".%2e", "a%2fb", "a%2Fb", "%5c", "a%00b", "%", "%zz", "UPPER", "-lead", "trail-", "a_b", "dot.name", "é", "%F0%9F%92%A5", "x".repeat(64), "x".repeat(4096)),
  fc.string({ unit: "binary", minLength: 1, maxLength: 80 }).map(encodeURIComponent),
).filter((raw) => {
  try {
    return !SandboxId.safeParse(decodeURIComponent(raw)).success;
  } catch {
    return true;
  }
});

/** A value of a type no field of any body has at that name (objects where strings go, and so on). */
const wrongValue = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }));

/** Bodies with the routes' own field names, each of a wrong type. */
const FIELDS = ["command", "argv", "cwd", "env", "stdin", "timeoutMs", "sessionId", "path", "from", "to", "recursive", "overwrite", "id", "name", "token", "allowedHosts", "deniedHosts", "internet", "byHost", "maxConnections", "sleepAfter", "limits", "labels", "image", "keepAlive", "processId", "code", "language"];
const wrongTypes = fc.dictionary(fc.constantFrom(...FIELDS), wrongValue, { minKeys: 1, maxKeys: 4 }).map((o) => JSON.stringify(o));

const malformedJson = fc.oneof(
  fc.constantFrom("{", "{not json", "[1,2", '{"a":}', "nul", "\u0000", '{"command":"x"', "{}}", '"just a string"', "[]", "42", "null", "true"),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)).filter((s) => s !== "{}"),
  wrongTypes,
);

/** In-sandbox paths: traversal, NUL, huge names, unicode, relative. */
const oddPath = fc.oneof(
  fc.constantFrom("..", "/..", "/../../../etc", "relative", "", "/\u0000", "/a\u0000b", `/${"n".repeat(300)}`, `/${"d/".repeat(2100)}`, "/\u00e9\u{1F4A5}", "//", "/proc/self/root/../..", "/.burrow/run/../../etc"),
  fc.string({ unit: "binary", maxLength: 100 }).map((s) => `/${s}`),
);

describe("HTTP fuzz: random and malformed input gets a 4xx with a stable code", () => {
  let srv: TestServer;
  let id: string;
  before(async () => {
    srv = await startTestServer();
    id = name("fuzz");
    await srv.burrow.sandbox(id).exec("true");
  });
  after(() => srv.cleanup());

  it("odd ids in every route that takes one", async () => {
    const withId = ROUTES.filter((r) => r.pattern.includes("/:id"));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...withId), oddId, async (r, rawId) => {
        const path = r.pattern.replace(/:([A-Za-z]+)/g, (_m, p: string) => (p === "id" ? rawId : (OTHER[p] ?? "x")));
        const a = await send(srv, r.method, path, r.method === "GET" || r.method === "DELETE" ? undefined : "{}");
        check(a, `${r.method} ${path.slice(0, 120)}`);
        assert.ok(a.status >= 400, `${r.method} ${path.slice(0, 120)} was accepted: ${a.status}`);
      }),
      { numRuns: 120, interruptAfterTimeLimit: 90_000 },
    );
    // None of those made a sandbox.
    assert.deepEqual((await srv.burrow.list()).map((s) => s.id), [id]);
  });

  it("malformed JSON and wrong types to routes that take a body", async () => {
    // Routes whose valid bodies are cheap; snapshots, forks, backups, git and sleep are covered by their own tests.
    const cheap = ROUTES.filter((r) => (r.method === "POST" || r.method === "PUT") && r.pattern.startsWith("/v1/sandboxes/:id/") && !/snapshots|backups|git|sleep|contexts/.test(r.pattern));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...cheap), malformedJson, async (r, body) => {
        const path = r.pattern.replace(/:([A-Za-z]+)/g, (_m, p: string) => (p === "id" ? id : (OTHER[p] ?? "x")));
        const a = await send(srv, r.method, path, body);
        check(a, `${r.method} ${path} ${body.slice(0, 120)}`);
        documented(r.method, r.pattern, a.status);
      }),
      { numRuns: 120, interruptAfterTimeLimit: 90_000 },
    );
  });

  it("odd in-sandbox paths to the files API", async () => {
    const routes = ["/files", "/files/stat", "/files/list"];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), oddPath, async (route, p) => {
        const path = `/v1/sandboxes/${id}${route}?path=${encodeURIComponent(p)}`;
        const a = await send(srv, "GET", path);
        check(a, `GET ${path.slice(0, 160)}`);
        documented("GET", `/v1/sandboxes/:id${route}`, a.status);
      }),
      { numRuns: 60, interruptAfterTimeLimit: 60_000 },
    );
  });

  it("answers only statuses docs/openapi.yaml lists for each route", () => {
    assert.deepEqual([...undocumented].sort(), []);
  });

  it("still serves afterwards", async () => {
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    assert.equal((await srv.burrow.sandbox(id).exec("echo alive")).stdout, "alive\n");
  });
});
