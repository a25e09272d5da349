import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Duplex } from "node:stream";
import Database from "better-sqlite3";
import { WebSocketServer } from "ws";
import { Agent } from "./agent.js";
import { Instance, type AgentClass } from "./instance.js";
import { ensureTemplate } from "./storage.js";
import { storedInstances } from "./catalog.js";
import type { Schedule } from "./schedules.js";
import { kebab } from "./kebab.js";
import { callerContext } from "./rpc.js";
import type { Sandbox } from "../client/index.js";
import { messageOf, report } from "../observability/channels.js";
import { releaseFreedHeap } from "../lib/heap-trim/index.js";

export interface AgentHostOptions {
  dataDir: string;
  classes: AgentClass[];
  env?: unknown;
  /** Instances without connections or work are evicted from memory after this long. */
  idleMs?: number;
  /** Where agents' own sandboxes come from (the server's own API, through a function that works once it listens). */
  sandbox?: (id: string) => Sandbox;
}

let current: AgentHost | undefined;

/** One instance as the dashboard lists it. */
export interface InstanceSummary {
  name: string;
  /** In memory now (woken, with connections or recent work). */
  live: boolean;
  connections: number;
  lastActiveAt: string;
}

/** The host of this process (set when one is created), for getAgentByName. */
export function currentHost(): AgentHost {
  if (!current) throw new Error("no agent host is running in this process: start the server with --agents or --examples");
  return current;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Every agent instance of this server: routes `/agents/<class>/<name>[/...]`
 * (HTTP to onRequest, WebSocket upgrades to connections), keeps one live
 * instance per (class, name), evicts idle ones, and wakes agents whose
 * schedules are due, also ones that were due while the server was down.
 */
export class AgentHost {
  private readonly classes = new Map<string, AgentClass>();
  private readonly instances = new Map<string, Instance>();
  private readonly index: Database.Database;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 32 * 1024 * 1024 });
  private alarmTimer: NodeJS.Timeout | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private readonly idleMs: number;
  /** The empty agent file new agents' files are copied from. */
  private readonly template: Buffer;
  /** Class directories known to exist: a new agent need not create its own again. */
  private readonly dirs = new Set<string>();
  private evicting = false;
  private closedLastSweep = false;

  constructor(private readonly options: AgentHostOptions) {
    for (const cls of options.classes) this.classes.set(kebab(cls.name), cls);
    mkdirSync(join(options.dataDir, "agents"), { recursive: true, mode: 0o700 });
    this.index = new Database(join(options.dataDir, "agents", "alarms.db"));
    this.index.pragma("journal_mode = WAL");
    this.index.exec("CREATE TABLE IF NOT EXISTS alarms (class TEXT NOT NULL, name TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (class, name))");
    this.template = ensureTemplate(join(options.dataDir, "agents", ".template-v1.db"));
    this.idleMs = options.idleMs ?? 60_000;
    this.sweeper = setInterval(() => void this.evictIdle(), Math.min(this.idleMs, 10_000));
    this.sweeper.unref();
    current = this;
    this.armAlarm();
  }

  get classNames(): string[] {
    return [...this.classes.keys()];
  }

  classFor(kebabName: string): AgentClass | undefined {
    return this.classes.get(kebabName.toLowerCase());
  }

  private file(cls: string, name: string): string {
    const safe = name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80);
    const hash = createHash("sha256").update(name).digest("hex").slice(0, 12);
    const dir = join(this.options.dataDir, "agents", cls);
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.dirs.add(dir);
    }
    return join(dir, `${safe}-${hash}.db`);
  }

  /** The live instance of (class, name), woken if needed. Waking runs onStart before anything else. */
  instance(cls: string, name: string): Instance {
    const key = `${cls}\0${name}`;
    let inst = this.instances.get(key);
    if (inst && !inst.destroyed) return inst;
    const c = this.classes.get(cls);
    if (!c) throw new Error(`no agent class ${cls}`);
    // Woken on behalf of some caller, but its onStart and queue belong to no connection.
    inst = callerContext.exit(() => new Instance(c, name, {
      file: this.file(cls, name),
      template: this.template,
      kebab: cls,
      env: this.options.env,
      onNextAlarm: (t) => this.setAlarm(cls, name, t),
      onDestroyed: () => this.instances.delete(key),
      sandbox: (id) => {
        if (!this.options.sandbox) throw new Error("this server runs agents without sandboxes");
        return this.options.sandbox(id);
      },
    }));
    this.instances.set(key, inst);
    return inst;
  }

  /** Route an HTTP request; false when it is not an agents path. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const route = this.route(req);
    if (!route) return false;
    void (async () => {
      try {
        if ("error" in route) return send(res, Response.json({ code: route.code, message: route.error }, { status: route.status }));
        let request = toRequest(req);
        const hooked = await route.cls.onBeforeRequest?.(request);
        if (hooked instanceof Response) return send(res, hooked);
        if (hooked instanceof Request) request = hooked;
        const inst = this.instance(route.kebab, route.name);
        const response = await inst.enqueue(() => inst.agent.onRequest(request));
        await send(res, response);
      } catch (err) {
        report("error", "agent.request_failed", `an agent request (${req.method} ${(req.url ?? "").split("?")[0]}) failed: ${messageOf(err)}`);
        if (!res.headersSent) send(res, new Response("Internal error in the agent", { status: 500 }));
        else res.destroy();
      }
    })();
    return true;
  }

  /** Route a WebSocket upgrade; false when it is not an agents path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const route = this.route(req);
    if (!route) return false;
    void (async () => {
      try {
        if ("error" in route) {
          const body = JSON.stringify({ code: route.code, message: route.error });
          return void socket.end(`HTTP/1.1 ${route.status} Not Found\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
        }
        const request = toRequest(req, false);
        const refused = await route.cls.onBeforeConnect?.(request);
        if (refused instanceof Response) {
          const body = await refused.text();
          return void socket.end(`HTTP/1.1 ${refused.status} ${refused.statusText || "Refused"}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
        }
        const inst = this.instance(route.kebab, route.name);
        const pk = new URL(request.url).searchParams.get("_pk") || randomUUID();
        this.wss.handleUpgrade(req, socket, head, (ws) => inst.accept(ws, request, pk));
      } catch (err) {
        report("error", "agent.connect_failed", `an agent connection (${(req.url ?? "").split("?")[0]}) failed: ${messageOf(err)}`);
        socket.destroy();
      }
    })();
    return true;
  }

  private route(req: IncomingMessage): { cls: AgentClass; kebab: string; name: string } | { error: string; status: number; code: string } | undefined {
    // The raw path, as the admin API reads it: `/v1/../agents/...` is not an agents path.
    const parts = (req.url ?? "/").split("?")[0]!.split("/").slice(1);
    // Too few segments fall through to the server's 404.
    if (parts[0] !== "agents" || parts.length < 3 || !parts[1] || !parts[2]) return undefined;
    let k: string;
    let name: string;
    try {
      k = decodeURIComponent(parts[1]).toLowerCase();
      name = decodeURIComponent(parts[2]);
    } catch {
      return { error: "the agent class or name in the URL is not valid percent-encoding", status: 400, code: "BAD_REQUEST" };
    }
    const cls = this.classes.get(k);
    if (!cls) return { error: `no agent class "${k}"; this server has: ${this.classNames.join(", ") || "none"}`, status: 404, code: "AGENT_NOT_FOUND" };
    return { cls, kebab: k, name };
  }

  // --- schedules -----------------------------------------------------------

  private setAlarm(cls: string, name: string, time: number | undefined): void {
    if (time === undefined) this.index.prepare("DELETE FROM alarms WHERE class = ? AND name = ?").run(cls, name);
    else this.index.prepare("INSERT OR REPLACE INTO alarms (class, name, time) VALUES (?, ?, ?)").run(cls, name, time);
    this.armAlarm();
  }

  private armAlarm(): void {
    // Called from inside agent methods: the timer must not inherit the caller's context (a readonly connection would then own every schedule).
    callerContext.exit(() => this.armAlarmDetached());
  }

  private armAlarmDetached(): void {
    clearTimeout(this.alarmTimer);
    const next = this.index.prepare("SELECT MIN(time) AS t FROM alarms").get() as { t: number | null };
    if (next.t === null) return;
    const delay = Math.max(0, Math.min(next.t * 1000 - Date.now(), MAX_TIMER_MS));
    this.alarmTimer = setTimeout(() => void this.fireAlarms(), delay);
    this.alarmTimer.unref();
  }

  private async fireAlarms(): Promise<void> {
    const due = this.index.prepare("SELECT class, name FROM alarms WHERE time <= ?").all(Math.floor(Date.now() / 1000)) as { class: string; name: string }[];
    for (const d of due) {
      if (!this.classes.has(d.class)) continue;
      try {
        await this.instance(d.class, d.name).runSchedules();
      } catch (err) {
        report("error", "agent.schedules_failed", `schedules of ${d.class}/${d.name} failed: ${messageOf(err)}`, { agent: d.class, name: d.name });
      }
    }
    this.armAlarm();
  }

  // --- memory ---------------------------------------------------------------

  /**
   * Close idle instances a few at a time: each close checkpoints its WAL with
   * two fsyncs (~5-9 ms here), and a thousand in one go would stall every
   * connection for seconds.
   */
  private async evictIdle(): Promise<void> {
    if (this.evicting) return;
    this.evicting = true;
    try {
      const cutoff = Date.now() - this.idleMs;
      let closed = 0;
      for (const [key, inst] of this.instances) {
        if (!(inst.idle && inst.lastActive < cutoff)) continue;
        // Removed and closed together: a new instance of the same name opens the file only after this one let go.
        this.instances.delete(key);
        inst.close();
        if (++closed % 4 === 0) await new Promise((r) => setImmediate(r));
      }
      // What the closed connections freed sits between live chunks of the C heap; hand it back to the kernel,
      // again one sweep later, for what the garbage collector freed since (the closed handles' wrappers).
      if (closed > 0 || this.closedLastSweep) await releaseFreedHeap();
      this.closedLastSweep = closed > 0;
    } finally {
      this.evicting = false;
    }
  }

  // --- what a dashboard lists ----------------------------------------------

  /** The class's instances in memory now (connections, last event), by name. */
  liveOf(cls: string): Map<string, { connections: number; lastActive: number }> {
    const out = new Map<string, { connections: number; lastActive: number }>();
    for (const [key, inst] of this.instances) if (!inst.destroyed && key.startsWith(`${cls}\0`)) out.set(inst.name, { connections: inst.connectionCount, lastActive: inst.lastActive });
    return out;
  }

  /**
   * A class's instances: every one with a file (whose name the file gives
   * back) and every one in memory, live ones first, then by last activity.
   */
  async instancesOf(cls: string, limit: number): Promise<{ instances: InstanceSummary[]; total: number; unnamed: number }> {
    const live = this.liveOf(cls);
    const stored = await storedInstances(join(this.options.dataDir, "agents", cls));
    const all = new Map<string, InstanceSummary>();
    for (const s of stored.instances) all.set(s.name, { name: s.name, live: false, connections: 0, lastActiveAt: new Date(s.lastWrite).toISOString() });
    for (const [name, l] of live) all.set(name, { name, live: true, connections: l.connections, lastActiveAt: new Date(l.lastActive).toISOString() });
    const sorted = [...all.values()].sort((a, b) => Number(b.live) - Number(a.live) || b.lastActiveAt.localeCompare(a.lastActiveAt));
    return { instances: sorted.slice(0, limit), total: sorted.length, unnamed: stored.unnamed };
  }

  /** Whether (class, name) was ever started here: in memory, or with a file. */
  exists(cls: string, name: string): boolean {
    const inst = this.instances.get(`${cls}\0${name}`);
    return (inst !== undefined && !inst.destroyed) || existsSync(this.file(cls, name));
  }

  /** An instance's schedules, read in its event order (after its onStart); wakes it, as a connection would. */
  schedulesOf(cls: string, name: string): Promise<Schedule[]> {
    const inst = this.instance(cls, name);
    return inst.enqueue(() => inst.scheduler.list());
  }

  /** How many instances are in memory now. */
  get liveCount(): number {
    return this.instances.size;
  }

  close(): void {
    clearTimeout(this.alarmTimer);
    clearInterval(this.sweeper);
    for (const inst of this.instances.values()) inst.close();
    this.instances.clear();
    this.index.close();
    if (current === this) current = undefined;
  }
}

function toRequest(req: IncomingMessage, withBody = true): Request {
  const url = `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  const hasBody = withBody && req.method !== "GET" && req.method !== "HEAD";
  return new Request(url, { method: req.method, headers, ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: "half" } : {}) } as RequestInit);
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  res.writeHead(response.status, headers);
  if (!response.body) return void res.end();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}

/** Whether a module export is an agent class. */
export const isAgentClass = (v: unknown): v is AgentClass => typeof v === "function" && v.prototype instanceof Agent;
