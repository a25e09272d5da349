/**
 * The Cloudflare sandbox bridge API under `/cf`, so the unmodified
 * `CloudflareSandboxClient` of `@openai/agents-extensions` runs on Burrow
 * (`workerUrl: "http://<burrow>/cf"`, `apiKey: <token>`). A thin adapter: every
 * route goes to the sandbox manager and the sandbox's runtime (exec, files),
 * the same code the rest of the API uses.
 */
import { randomBytes } from "node:crypto";
import { BurrowError, type ErrorCode } from "../../contract/index.js";
import { readJson, readQuery, sendJson, toBurrowError } from "../../lib/http-json.js";
import { ndjson } from "../../lib/ndjson.js";
import { readAll, runtimeError, type RuntimeClient, type SandboxManager } from "../../sandboxes/index.js";
import type { Ctx, Handler, Router } from "../router.js";
import { sandboxIdOf } from "../routes/common.js";
import { CfCreateBody, CfExecBody, CfMountBody, CfPersistQuery, CF_ARCHIVE_LIMITS, CF_ROOT } from "./schemas.js";

/** Errors carry `error` too: the Cloudflare client shows `code: error` from it. */
function cfError(err: unknown): BurrowError {
  const e = toBurrowError(err);
  return new BurrowError(e.code, e.message, { ...e.details, error: e.message });
}

const wrap = (h: Handler): Handler => async (ctx) => {
  try {
    await h(ctx);
  } catch (err) {
    throw cfError(err);
  }
};

/** The id of a sandbox that exists (the bridge never creates one by naming it). */
function existing(ctx: Ctx, sandboxes: SandboxManager): string {
  const id = sandboxIdOf(ctx);
  sandboxes.get(id); // SANDBOX_NOT_FOUND for an unknown name
  return id;
}

/** A file path from the URL (`/file/workspace/a.txt` is `/workspace/a.txt`); `.` and `..` segments never reach here (the router refuses them). */
function filePath(ctx: Ctx): string {
  const p = ctx.params.path ?? "";
  if (!p || p.includes("\0")) throw new BurrowError("INVALID_PATH", "give the file's path after /file/, e.g. /file/workspace/notes.txt");
  return `/${p}`;
}

async function runtimeJson<T>(rt: RuntimeClient, method: string, path: string, body?: unknown): Promise<T> {
  return rt.json<T>(method, path, body);
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

export function cfBridgeRoutes(r: Router, sandboxes: SandboxManager): void {
  const base = "/cf/v1/sandbox";

  // Create: a fresh sandbox with a generated name; the Cloudflare client keeps the id.
  r.on("POST", base, wrap(async (ctx) => {
    const body = await readJson(ctx.req, CfCreateBody);
    if (body.mounts?.length) throw new BurrowError("NOT_SUPPORTED", "bucket mounts are not supported by Burrow's Cloudflare bridge; copy the data into the workspace instead");
    const id = `cf-${randomBytes(6).toString("hex")}`;
    await sandboxes.ensure(id, { labels: { "burrow.bridge": "cloudflare" } });
    const rt = await sandboxes.runtime(id);
    await runtimeJson(rt, "POST", "/files/mkdir", { path: CF_ROOT, recursive: true });
    sendJson(ctx.res, 200, { id });
  }));

  // Exec: argv, answered as SSE `stdout`/`stderr` (base64) events, then `exit {exit_code}` or `error`.
  r.on("POST", `${base}/:id/exec`, wrap(async (ctx) => {
    const id = existing(ctx, sandboxes);
    const body = await readJson(ctx.req, CfExecBody);
    const rt = await sandboxes.runtime(id);
    const release = sandboxes.hold(id);
    try {
      const res = await rt.send("POST", "/exec?stream=1", { argv: body.argv, ...(body.timeout_ms ? { timeoutMs: body.timeout_ms } : {}) });
      if ((res.statusCode ?? 500) >= 400) throw await runtimeError(res);
      ctx.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" });
      ctx.res.flushHeaders();
      ctx.res.on("close", () => res.destroy());
      const send = (event: string, data: string) => !ctx.res.writableEnded && ctx.res.write(`event: ${event}\ndata: ${data}\n\n`);
      let ended = false;
      for await (const ev of ndjson<{ type: string; data?: string; exitCode?: number; timedOut?: boolean; code?: string; message?: string }>(res)) {
        if (ev.type === "stdout" || ev.type === "stderr") send(ev.type, b64(ev.data ?? ""));
        else if (ev.type === "complete") {
          send("exit", JSON.stringify({ exit_code: ev.timedOut ? 124 : ev.exitCode, ...(ev.timedOut ? { timed_out: true } : {}) }));
          ended = true;
        } else if (ev.type === "error") {
          send("error", `${ev.code}: ${ev.message}`);
          ended = true;
        }
      }
      if (!ended) send("error", "RUNTIME_UNAVAILABLE: the sandbox stopped before the command finished");
      ctx.res.end();
    } finally {
      release();
    }
  }));

  // Files: raw bytes both ways; parents are created on write.
  r.on("GET", `${base}/:id/file/:path`, wrap(async (ctx) => {
    const rt = await sandboxes.runtime(existing(ctx, sandboxes));
    const res = await rt.send("GET", `/files?path=${encodeURIComponent(filePath(ctx))}`);
    if ((res.statusCode ?? 500) >= 400) throw await runtimeError(res);
    ctx.res.writeHead(200, { "content-type": "application/octet-stream", ...(res.headers["content-length"] ? { "content-length": res.headers["content-length"] } : {}) });
    res.pipe(ctx.res);
    await new Promise<void>((resolve) => ctx.res.on("close", () => (res.destroy(), resolve())));
  }), { rest: true });
  r.on("PUT", `${base}/:id/file/:path`, wrap(async (ctx) => {
    const id = existing(ctx, sandboxes);
    const rt = await sandboxes.runtime(id);
    const release = sandboxes.hold(id);
    try {
      const r = await rt.send("PUT", `/files?path=${encodeURIComponent(filePath(ctx))}`, ctx.req);
      let text = "";
      for await (const c of r) text += c;
      const v = JSON.parse(text || "{}") as { code?: ErrorCode; message?: string; size?: number; path?: string };
      if ((r.statusCode ?? 500) >= 400) throw new BurrowError(v.code ?? "INTERNAL", v.message ?? "the file could not be written");
      sendJson(ctx.res, 200, { ok: true, path: v.path, size: v.size });
    } finally {
      release();
    }
  }), { rest: true });

  // Running: any sandbox that exists is (Burrow wakes a sleeping one on the next call).
  r.on("GET", `${base}/:id/running`, wrap((ctx) => {
    const id = sandboxIdOf(ctx);
    const info = sandboxes.get(id);
    sendJson(ctx.res, 200, { running: true, state: info.state });
  }));

  // Persist: a tar of /workspace (made if missing), `excludes` (comma-separated, relative) left out.
  r.on("POST", `${base}/:id/persist`, wrap(async (ctx) => {
    const id = existing(ctx, sandboxes);
    const q = readQuery(ctx.query, CfPersistQuery);
    const excludes = (q.excludes ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (excludes.some((p) => p.startsWith("/") || p.split("/").includes(".."))) throw new BurrowError("INVALID_PATH", "excludes are paths relative to /workspace, without .. segments");
    const rt = await sandboxes.runtime(id);
    const release = sandboxes.hold(id);
    try {
      const ex = excludes.map((e) => `&exclude=${encodeURIComponent(e)}`).join("");
      const res = await rt.send("GET", `/archive?dir=${encodeURIComponent(CF_ROOT)}&create=1${ex}`);
      if ((res.statusCode ?? 500) >= 400) throw await runtimeError(res);
      ctx.res.writeHead(200, { "content-type": "application/x-tar" });
      res.pipe(ctx.res);
      await new Promise<void>((resolve) => ctx.res.on("close", () => (res.destroy(), resolve())));
    } finally {
      release();
    }
  }));

  // Hydrate: replace /workspace with a tar archive, checked as it streams and swapped in whole (a bad one changes nothing).
  r.on("POST", `${base}/:id/hydrate`, wrap(async (ctx) => {
    const id = existing(ctx, sandboxes);
    const rt = await sandboxes.runtime(id);
    const release = sandboxes.hold(id);
    try {
      const { maxInputBytes, maxExtractedBytes, maxMembers } = CF_ARCHIVE_LIMITS;
      const res = await rt.send("PUT", `/archive?dir=${encodeURIComponent(CF_ROOT)}&maxBytes=${maxInputBytes}&maxExtractedBytes=${maxExtractedBytes}&maxMembers=${maxMembers}`, ctx.req);
      if ((res.statusCode ?? 500) >= 400) {
        if (!ctx.req.complete) ctx.res.shouldKeepAlive = false;
        throw await runtimeError(res);
      }
      const written = JSON.parse(await readAll(res)) as { bytes: number; members: number };
      sendJson(ctx.res, 200, { ok: true, bytes: written.bytes, members: written.members });
    } finally {
      release();
    }
  }));

  // Bucket mounts need a backing store Burrow does not have.
  for (const op of ["mount", "unmount"] as const) {
    r.on("POST", `${base}/:id/${op}`, wrap(async (ctx) => {
      existing(ctx, sandboxes);
      await readJson(ctx.req, CfMountBody);
      throw new BurrowError("NOT_SUPPORTED", `bucket ${op}s are not supported by Burrow's Cloudflare bridge (no bucket store behind it); copy the data into /workspace instead`);
    }));
  }

  r.on("DELETE", `${base}/:id`, wrap(async (ctx) => {
    const id = sandboxIdOf(ctx);
    await sandboxes.destroy(id);
    sendJson(ctx.res, 200, { id, deleted: true });
  }));

  // The PTY is a WebSocket (see pty.ts); a plain request is told to upgrade.
  r.on("GET", `${base}/:id/pty`, wrap((ctx) => {
    sandboxIdOf(ctx);
    throw new BurrowError("UPGRADE_REQUIRED", "the PTY is a WebSocket: connect with Upgrade: websocket");
  }));
}
