import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { AgentHost } from "../agents/index.js";
import type { AgentClass } from "../agents/instance.js";
import { BurrowError } from "../contract/index.js";
import { sendError } from "../lib/http-json.js";

/** The paths the agents host answers (`/agents/<class>/<name>...`), by the raw path as sent. */
function isAgentsPath(url: string | undefined): boolean {
  const parts = (url ?? "/").split("?")[0]!.split("/");
  return parts[1] === "agents" && parts.length >= 4 && !!parts[2] && !!parts[3];
}

const unavailable = () => new BurrowError("AGENTS_UNAVAILABLE", "this server's agents module failed to load (the server's log says why); fix the module and start the server again");
const notFound = (url: string | undefined) => new BurrowError("NOT_FOUND", `no route ${(url ?? "/").split("?")[0]}; agents are at /agents/<class>/<name>`);

/**
 * The agents host while its classes load. A module that imports a model SDK
 * takes most of a second to load (the examples: ~0.7 s here), which the
 * server spends listening: the API answers meanwhile, and requests and
 * upgrades for `/agents/...` wait for the host instead of failing.
 */
export class PendingAgents {
  private current: AgentHost | undefined;
  private phase: "loading" | "loaded" | "failed" = "loading";
  private closed = false;
  /** Resolves with the classes once the host serves them; rejects as their module did. */
  readonly ready: Promise<AgentClass[]>;

  constructor(classes: AgentClass[] | Promise<AgentClass[]>, make: (classes: AgentClass[]) => AgentHost | undefined) {
    this.ready = Promise.resolve(classes).then(
      (c) => {
        if (!this.closed) this.current = make(c);
        this.phase = "loaded";
        return c;
      },
      (err) => {
        this.phase = "failed";
        throw err;
      },
    );
    this.ready.catch(() => {}); // the caller decides what a failure means (the CLI exits)
  }

  /** For /healthz: "loading" until the classes are known, then "ready" (or "none"), or "failed". */
  get state(): "loading" | "ready" | "none" | "failed" {
    if (this.phase !== "loaded") return this.phase;
    return this.current ? "ready" : "none";
  }

  /** The host, once its classes are loaded (and when there are any). */
  get host(): AgentHost | undefined {
    return this.current;
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.current) return this.current.handleRequest(req, res);
    if (this.phase !== "loading" || !isAgentsPath(req.url)) return false;
    // The body stays unread (and buffered by Node) until the host takes the request.
    void this.ready.then(
      () => {
        if (!this.current?.handleRequest(req, res)) sendError(res, notFound(req.url));
      },
      () => sendError(res, unavailable()),
    );
    return true;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (this.current) return this.current.handleUpgrade(req, socket, head);
    if (this.phase !== "loading" || !isAgentsPath(req.url)) return false;
    const refuse = (status: string, err: BurrowError) => {
      const body = JSON.stringify({ code: err.code, message: err.message });
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    void this.ready.then(
      () => {
        if (!this.current?.handleUpgrade(req, socket, head)) refuse("404 Not Found", notFound(req.url));
      },
      () => refuse("503 Service Unavailable", unavailable()),
    );
    return true;
  }

  close(): void {
    this.closed = true;
    this.current?.close();
  }
}
