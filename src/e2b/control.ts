import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { BurrowError, SandboxId, type SandboxInfo } from "../contract/index.js";
import { readBody, readQuery, sendJson } from "../lib/http-json.js";
import { accessTokenFor, DEFAULT_TIMEOUT_S, describe, ENVD_VERSION, imageFor, isE2bSandbox, labelsFor, metadataOf, newSandboxId, stateOf } from "./mapping.js";
import { ConnectSandboxBody, CreateSandboxBody, ListSandboxesQuery, TimeoutBody } from "./schemas.js";
import type { E2bSandboxes } from "./sandboxes.js";
import { asBurrowError, e2bStatus } from "./errors.js";

/** What getMetrics needs from the observability domain (its `usage.usage`). */
export type UsageReader = (id: string, createdAt: string) => Promise<{ cpuSeconds: number; memoryBytes: number; diskBytes: number; runningSeconds: number }>;

/** E2B's REST answers errors as `{code: <http status>, message}`. */
export function sendRestError(res: ServerResponse, err: unknown): void {
  const e = asBurrowError(err);
  if (e.code === "INTERNAL") console.error("burrow: e2b request failed:", err);
  const status = e2bStatus(e);
  if (res.headersSent) return void res.destroy();
  sendJson(res, status, { code: status, message: e.message });
}

async function body<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const r = schema.safeParse(await readBody(req));
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new BurrowError("VALIDATION_FAILED", `${i.path.join(".") || "body"}: ${i.message}`);
  }
  return r.data;
}

function sandboxIdOf(raw: string): string {
  const r = SandboxId.safeParse(raw);
  // E2B answers an id it does not know with 404, whatever it looks like.
  if (!r.success) throw new BurrowError("SANDBOX_NOT_FOUND", `no sandbox ${JSON.stringify(raw.slice(0, 80))}`);
  return r.data;
}

/**
 * The control plane: E2B_API_URL. Sandboxes are created, listed, described,
 * timed, paused (Burrow's sleep), connected to (woken) and killed (destroyed).
 */
export class ControlPlane {
  usage: UsageReader | undefined;
  /** The last CPU reading per sandbox, so a metric is the CPU used since the one before. */
  private readonly lastCpu = new Map<string, { at: number; cpuSeconds: number }>();

  constructor(
    private readonly sandboxes: E2bSandboxes,
    private readonly token: string,
    /** The domain `sbx.getHost` builds on, when the server serves previews. */
    private readonly domainFor: (id: string) => string | undefined = () => undefined,
  ) {}

  /** Route `parts` (the path after /e2b, split); false when it is not a control-plane path. */
  async handle(req: IncomingMessage, res: ServerResponse, parts: string[], query: Record<string, string>): Promise<boolean> {
    const p = parts[0] === "v2" ? parts.slice(1) : parts;
    if (p[0] !== "sandboxes") return false;
    const method = req.method ?? "GET";
    const [, rawId, sub] = p;
    if (p.length === 1 && method === "POST") return this.create(req, res), true;
    if (p.length === 1 && method === "GET") return this.list(res, query), true;
    if (!rawId || p.length > 3) return false;
    const id = sandboxIdOf(rawId);
    const m = this.sandboxes.manager;
    const info = (): SandboxInfo => m.get(id);
    if (!sub && method === "GET") return sendJson(res, 200, this.detail(info())), true;
    if (!sub && method === "DELETE") {
      await m.destroy(id);
      this.lastCpu.delete(id);
      res.writeHead(204).end();
      return true;
    }
    if (sub === "connect" && method === "POST") {
      const b = await body(req, ConnectSandboxBody);
      const before = info();
      const { info: after } = await m.ensure(id, b.timeout !== undefined ? { sleepAfter: b.timeout } : {});
      sendJson(res, before.state === "running" ? 200 : 201, this.created(after));
      return true;
    }
    if (sub === "resume" && method === "POST") {
      const b = await body(req, ConnectSandboxBody);
      const { info: after } = await m.ensure(id, b.timeout !== undefined ? { sleepAfter: b.timeout } : {});
      sendJson(res, 201, this.created(after));
      return true;
    }
    if (sub === "timeout" && method === "POST") {
      const b = await body(req, TimeoutBody);
      info();
      await m.ensure(id, { sleepAfter: Math.max(1, b.timeout) });
      res.writeHead(204).end();
      return true;
    }
    if (sub === "refreshes" && method === "POST") {
      info();
      m.touch(id);
      res.writeHead(204).end();
      return true;
    }
    if (sub === "pause" && method === "POST") {
      await readBody(req);
      if (info().state !== "running") {
        sendJson(res, 409, { code: 409, message: `sandbox ${id} is already paused` });
        return true;
      }
      await m.sleep(id);
      this.sandboxes.resetLive(id);
      res.writeHead(204).end();
      return true;
    }
    if (sub === "metrics" && method === "GET") {
      sendJson(res, 200, await this.metrics(info()));
      return true;
    }
    if (sub === "logs" && method === "GET") {
      info();
      sendJson(res, 200, { logs: [], logEntries: [] });
      return true;
    }
    return false;
  }

  /** One sample now, in E2B's shape: CPU since the last sample (or on average since start), memory, disk. */
  private async metrics(info: SandboxInfo): Promise<object[]> {
    if (!this.usage) return [];
    const u = await this.usage(info.id, info.createdAt);
    const now = Date.now();
    const cpuCount = Math.max(1, Math.ceil(info.limits.cpus));
    const last = this.lastCpu.get(info.id);
    this.lastCpu.set(info.id, { at: now, cpuSeconds: u.cpuSeconds });
    const [cpu, secs] = last && now > last.at ? [u.cpuSeconds - last.cpuSeconds, (now - last.at) / 1000] : [u.cpuSeconds, u.runningSeconds];
    const pct = secs > 0 ? Math.min(100, Math.max(0, (cpu / secs / cpuCount) * 100)) : 0;
    return [
      {
        timestamp: new Date(now).toISOString(),
        timestampUnix: Math.floor(now / 1000),
        cpuUsedPct: Math.round(pct * 100) / 100,
        cpuCount,
        memUsed: u.memoryBytes,
        memTotal: info.limits.memoryMB * 1024 * 1024,
        memCache: 0,
        diskUsed: u.diskBytes,
        diskTotal: 0,
      },
    ];
  }

  private async create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await body(req, CreateSandboxBody);
    const id = newSandboxId();
    const { info } = await this.sandboxes.manager.ensure(id, {
      image: imageFor(b.templateID),
      env: b.envVars,
      labels: labelsFor(b.templateID, b.metadata),
      sleepAfter: b.timeout ?? DEFAULT_TIMEOUT_S,
    });
    try {
      await this.sandboxes.ensureUser(id, "user");
    } catch (err) {
      await this.sandboxes.manager.destroy(id).catch(() => {});
      throw err;
    }
    sendJson(res, 201, this.created(info));
  }

  private created(info: SandboxInfo) {
    const token = accessTokenFor(this.token, info.id);
    return {
      sandboxID: info.id,
      templateID: describe(info).templateID,
      clientID: "burrow",
      envdVersion: ENVD_VERSION,
      envdAccessToken: token,
      trafficAccessToken: token,
      ...(this.domainFor(info.id) ? { domain: this.domainFor(info.id) } : {}),
    };
  }

  private detail(info: SandboxInfo) {
    const domain = this.domainFor(info.id);
    return { ...describe(info), envdAccessToken: accessTokenFor(this.token, info.id), ...(domain ? { domain } : {}) };
  }

  /** `GET /v2/sandboxes?metadata=k%3Dv&state=running,paused&limit=&nextToken=`; the next page's token comes in x-next-token. */
  private list(res: ServerResponse, query: Record<string, string>): void {
    const q = readQuery(query, ListSandboxesQuery);
    const wanted = q.metadata ? [...new URLSearchParams(q.metadata)].map(([k, v]) => [safeDecode(k), safeDecode(v)] as const) : [];
    const states = q.state ? new Set(q.state.split(",").map((s) => s.trim())) : new Set(["running", "paused"]);
    const all = this.sandboxes.manager
      .list()
      .filter(isE2bSandbox)
      .filter((s) => states.has(stateOf(s)))
      .filter((s) => {
        const meta = metadataOf(s);
        return wanted.every(([k, v]) => meta[k] === v);
      })
      .sort((a, b) => (a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt.localeCompare(b.createdAt)));
    const start = q.nextToken ? Number(Buffer.from(q.nextToken, "base64url").toString()) || 0 : 0;
    const limit = q.limit ?? 100;
    const page = all.slice(start, start + limit);
    const headers: Record<string, string> = {};
    if (start + limit < all.length) headers["x-next-token"] = Buffer.from(String(start + limit)).toString("base64url");
    const data = JSON.stringify(page.map(describe));
    res.writeHead(200, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(data) });
    res.end(data);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
