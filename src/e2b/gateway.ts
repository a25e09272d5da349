import type { IncomingMessage, ServerResponse } from "node:http";
import { BurrowError, SandboxId } from "../contract/index.js";
import { sendJson } from "../lib/http-json.js";
import type { SandboxManager } from "../sandboxes/index.js";
import { CodeService } from "./code.js";
import { sendUnaryError } from "./connect.js";
import { ControlPlane, sendRestError, type UsageReader } from "./control.js";
import { FilesHttp } from "./files-http.js";
import { FilesystemService } from "./filesystem.js";
import { accessTokenFor, sameSecret } from "./mapping.js";
import { ProcessService } from "./process.js";
import { E2bSandboxes } from "./sandboxes.js";
import { E2bPreviews, type PreviewProxyLike } from "./preview.js";
import type { Socket } from "node:net";

export const PREFIX = "/e2b";

/** The path after the prefix as segments, refusing what could be normalised into another route. */
function segments(rawPath: string): string[] {
  const parts = rawPath.slice(PREFIX.length).split("/").filter(Boolean);
  for (const s of parts) {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      throw new BurrowError("BAD_REQUEST", "the URL path is not valid percent-encoding");
    }
    if (d === "." || d === ".." || /[/\\\0]/.test(d)) throw new BurrowError("BAD_REQUEST", "the URL path has a '.', '..' or encoded '/' segment");
  }
  return parts;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Everything under /e2b: E2B's control plane (E2B_API_URL) and, for requests
 * that name a sandbox in `E2b-Sandbox-Id`, envd and the code interpreter
 * (E2B_SANDBOX_URL). It does its own auth: the API key is the server's token;
 * envd calls carry the sandbox's access token from the create answer.
 */
export class E2bGateway {
  private readonly sandboxes: E2bSandboxes;
  private readonly control: ControlPlane;
  private readonly processes: ProcessService;
  private readonly filesystem: FilesystemService;
  private readonly files: FilesHttp;
  private readonly code: CodeService;
  private readonly previews: E2bPreviews;

  constructor(
    manager: SandboxManager,
    private readonly token: string,
  ) {
    this.sandboxes = new E2bSandboxes(manager);
    this.previews = new E2bPreviews(manager, token);
    this.control = new ControlPlane(this.sandboxes, token, (id) => this.previews.domainFor(id));
    this.processes = new ProcessService(this.sandboxes);
    this.filesystem = new FilesystemService(this.sandboxes);
    this.files = new FilesHttp(this.sandboxes);
    this.code = new CodeService(this.sandboxes);
  }

  /** Where getMetrics reads a sandbox's usage (the observability domain's meter), once the server has one. */
  useUsage(usage: UsageReader): void {
    this.control.usage = usage;
  }

  /** Serve `sbx.getHost(port)` hosts through the server's preview proxy (see preview.ts). */
  usePreviews(proxy: PreviewProxyLike, serverPort: () => number): void {
    this.previews.use(proxy, serverPort);
  }

  /** A request for a `getHost` host, by its Host header; false for anything else. */
  handlePreviewRequest(req: IncomingMessage, res: ServerResponse): boolean {
    return this.previews.handleRequest(req, res);
  }

  handlePreviewUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): boolean {
    return this.previews.handleUpgrade(req, socket, head);
  }

  /** Take the request if it is under /e2b (answering it asynchronously); false otherwise. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const rawUrl = req.url ?? "/";
    const rawPath = rawUrl.split("?")[0]!;
    if (rawPath !== PREFIX && !rawPath.startsWith(`${PREFIX}/`)) return false;
    const sandboxId = header(req, "e2b-sandbox-id");
    const onError = (err: unknown) => (sandboxId !== undefined && isRpc(rawPath) ? sendUnaryError(res, err) : sendRestError(res, err));
    (async () => {
      const parts = segments(rawPath);
      const query = Object.fromEntries(new URL(rawUrl, "http://burrow").searchParams);
      if (sandboxId === undefined) return this.controlPlane(req, res, parts, query);
      return this.envd(sandboxId, req, res, parts, query);
    })().catch(onError);
    return true;
  }

  private apiKeyOk(req: IncomingMessage): boolean {
    const auth = header(req, "authorization") ?? "";
    return sameSecret(header(req, "x-api-key"), this.token) || (auth.startsWith("Bearer ") && sameSecret(auth.slice(7).trim(), this.token));
  }

  private async controlPlane(req: IncomingMessage, res: ServerResponse, parts: string[], query: Record<string, string>): Promise<void> {
    if (!this.apiKeyOk(req)) return sendJson(res, 401, { code: 401, message: "Invalid API key: send Burrow's token as X-API-KEY (E2B_API_KEY)" });
    if (!(await this.control.handle(req, res, parts, query)))
      sendJson(res, 404, { code: 404, message: `${req.method} ${PREFIX}/${parts.join("/")} is not part of the E2B API Burrow serves` });
  }

  private async envd(rawId: string, req: IncomingMessage, res: ServerResponse, parts: string[], query: Record<string, string>): Promise<void> {
    const rpc = parts.length === 2 && (parts[0] === "process.Process" || parts[0] === "filesystem.Filesystem");
    const idOk = SandboxId.safeParse(rawId);
    const id = idOk.success ? idOk.data : "";
    const given = header(req, "x-access-token") ?? header(req, "e2b-traffic-access-token");
    if (!this.apiKeyOk(req) && !(id && sameSecret(given, accessTokenFor(this.token, id)))) {
      if (rpc) return sendJson(res, 401, { code: "unauthenticated", message: "send the sandbox's access token (X-Access-Token) from the create or connect answer" });
      return sendJson(res, 401, { code: 401, message: "send the sandbox's access token (X-Access-Token) from the create or connect answer" });
    }
    const method = req.method ?? "GET";
    // A sandbox that is gone answers as E2B's proxy does, 502, which the SDK reads as "not running".
    const live = id !== "" && this.sandboxes.exists(id);
    if (parts.length === 1 && parts[0] === "health" && method === "GET") {
      if (live && this.sandboxes.manager.get(id).state === "running") return void res.writeHead(204).end();
      return sendJson(res, 502, { code: 502, message: `sandbox ${rawId} is not running` });
    }
    if (!live) {
      if (rpc) return sendJson(res, 502, { code: "unavailable", message: `sandbox ${rawId} was not found: it was killed, or never created` });
      return sendJson(res, 502, { code: 502, message: `sandbox ${rawId} was not found: it was killed, or never created` });
    }
    if (rpc) {
      if (method !== "POST") return sendJson(res, 405, { code: "unimplemented", message: "Connect calls are POST" });
      if (parts[0] === "process.Process") return this.processes.handle(parts[1]!, id, req, res);
      return this.filesystem.handle(parts[1]!, id, req, res);
    }
    if (parts.length === 1 && parts[0] === "files") {
      if (method === "GET") return this.files.download(id, req, res, query);
      if (method === "POST") return this.files.upload(id, req, res, query);
    }
    if (parts[0] === "execute" || parts[0] === "contexts") return this.code.handle(id, parts, req, res);
    sendJson(res, 404, { code: 404, message: `${method} ${PREFIX}/${parts.join("/")} is not part of envd's API as Burrow serves it` });
  }
}

const isRpc = (rawPath: string): boolean => /^\/e2b\/(process\.Process|filesystem\.Filesystem)\//.test(rawPath);

/** Every route, as docs/openapi.yaml lists them (test/docs.test.ts checks both ways). */
export const E2B_ROUTES: string[] = [
  ...["", "/v2"].flatMap((v) => [`POST /e2b${v}/sandboxes`, `GET /e2b${v}/sandboxes`, `POST /e2b${v}/sandboxes/:id/connect`]),
  ...["GET", "DELETE"].map((m) => `${m} /e2b/sandboxes/:id`),
  ...["resume", "timeout", "refreshes", "pause"].map((s) => `POST /e2b/sandboxes/:id/${s}`),
  "GET /e2b/sandboxes/:id/metrics", "GET /e2b/sandboxes/:id/logs",
  "GET /e2b/health", "GET /e2b/files", "POST /e2b/files",
  ...["Start", "Connect", "List", "SendInput", "SendSignal", "CloseStdin", "Update"].map((m) => `POST /e2b/process.Process/${m}`),
  ...["Stat", "ListDir", "MakeDir", "Move", "Remove", "WatchDir"].map((m) => `POST /e2b/filesystem.Filesystem/${m}`),
  "POST /e2b/execute", "POST /e2b/contexts", "GET /e2b/contexts", "DELETE /e2b/contexts/:ctx", "POST /e2b/contexts/:ctx/restart",
];
