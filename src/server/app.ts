import { createServer, type Server } from "node:http";
import { mkdirSync, chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { BurrowError } from "../contract/index.js";
import { sendError, sendJson } from "../lib/http-json.js";
import { AuditLog, EgressCA, type EgressConfig, EgressProxy, EgressRules, TrustSources, UpstreamDialer } from "../egress/index.js";
import { egressRoutes } from "./routes/egress.js";
import { ImageStore, ImageUsage, ensureNodeKit, ensureRuntimeDir } from "../images/index.js";
import { DiskQuota, mountNosuid, mountViews, Registry, Runc, SandboxManager } from "../sandboxes/index.js";
import { isAuthorized, loadToken } from "./auth.js";
import type { ServerConfig } from "./config.js";
import { Router } from "./router.js";
import { execRoutes } from "./routes/exec.js";
import { fileRoutes } from "./routes/files.js";
import { archiveRoutes } from "./routes/archive.js";
import { sandboxRoutes } from "./routes/sandboxes.js";
import { mountDataVolume } from "./data-volume.js";
import { sessionRoutes } from "./routes/sessions.js";
import { portRoutes } from "./routes/ports.js";
import { gitRoutes } from "./routes/git.js";
import { contextRoutes } from "./routes/contexts.js";
import { cfBridgeRoutes, CfPtyGateway } from "./cf-bridge/index.js";
import { PreviewProxy } from "./preview.js";
import { TerminalGateway } from "./terminal.js";
import { AgentHost } from "../agents/index.js";
import { PendingAgents } from "./pending-agents.js";
import { E2bGateway } from "../e2b/index.js";
import { McpGateway } from "../mcp/index.js";
import { nodeFetch } from "../lib/node-fetch.js";
import { Burrow, type Sandbox } from "../client/index.js";
import type { AgentClass } from "../agents/instance.js";
import { currentSpan as currentAgentSpan } from "../agents/rpc.js";
import type { Socket } from "node:net";
import { processRoutes } from "./routes/processes.js";
import { snapshotRoutes } from "./routes/snapshots.js";
import { LayerStore, SnapshotCatalog, SnapshotService, SnapshotTransfer } from "../snapshots/index.js";
import { BackupCatalog, BackupService } from "../backups/index.js";
import { backupRoutes } from "./routes/backups.js";
import { answerClientError } from "./client-error.js";
import { endOpenStreams } from "./sse.js";
import { checkDataDir, minFreeMB } from "./data-dir-checks.js";
import { UidRanges } from "../sandboxes/uid-ranges.js";
import { openBlobStore } from "../blobs/index.js";
import { WebConsole } from "../web/index.js";
import { webRoutes } from "./routes/web.js";
import { agentRoutes } from "./routes/agents.js";
import { serverInfoRoutes } from "./routes/server-info.js";
import { newRequestId, Observability, tracer } from "../observability/index.js";
import { usageRoutes } from "./routes/usage.js";
import { startMetricsPort } from "./metrics-port.js";

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  sandboxes: SandboxManager;
  /** The agent classes once the host serves them (the server listens while they load); rejects as their module did. */
  agentsReady: Promise<AgentClass[]>;
  close(): Promise<void>;
}

/** The blob signing key: a file of at least 32 bytes, refused at start otherwise. */
function readSigningKey(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  const key = readFileSync(file);
  if (key.length < 32) throw new Error(`--blob-signing-key ${file} holds ${key.length} bytes; use at least 32 random bytes (openssl rand -out ${file} 32)`);
  return key;
}

/** Where the built runtime bundle and init binary are (dist/runtime next to this bundle). */
function distRuntimeDir(): string {
  return process.env.BURROW_RUNTIME_DIST ?? join(fileURLToPath(new URL(".", import.meta.url)), "runtime");
}

export interface Services {
  sandboxes: SandboxManager;
  egress: { rules: EgressRules; proxy: EgressProxy; audit: AuditLog; trust: TrustSources };
  snapshots: SnapshotService;
  transfers: SnapshotTransfer;
  backups: BackupService;
  preview: PreviewProxy;
  serverPort: () => number;
  /** Browser sessions and terminal links; absent when only the routes are listed (docs checks). */
  web?: WebConsole;
  observability?: Observability;
  /** The agents this server hosts (--agents), if any. */
  agents?: AgentHost;
  /** The image cache sandboxes start from; absent when only the routes are listed. */
  images?: ImageStore;
}

/** Every API route, bound to the services that answer it. */
export function buildRouter(services: Services): Router {
  const { sandboxes, egress, snapshots, transfers, backups, preview, serverPort } = services;
  const router = new Router();
  // Handlers read the observability domain when called, so the router can be built without one (docs checks).
  usageRoutes(router, sandboxes, services.observability as Observability);
  egressRoutes(router, sandboxes, egress);
  sandboxRoutes(router, sandboxes, (sid) => transfers.pull(sid), () => egress.trust.status());
  snapshotRoutes(router, snapshots, transfers, sandboxes);
  backupRoutes(router, backups);
  execRoutes(router, sandboxes);
  sessionRoutes(router, sandboxes);
  fileRoutes(router, sandboxes);
  archiveRoutes(router, sandboxes);
  processRoutes(router, sandboxes);
  portRoutes(router, sandboxes, preview, serverPort);
  gitRoutes(router, sandboxes);
  contextRoutes(router, sandboxes);
  cfBridgeRoutes(router, sandboxes); // the Cloudflare sandbox bridge under /cf (src/server/cf-bridge)
  webRoutes(router, sandboxes, () => services.web);
  agentRoutes(router, () => services.agents);
  serverInfoRoutes(router, sandboxes, () => services.images);
  // The terminal is a WebSocket (see terminal.ts); a plain request is told to upgrade.
  router.on("GET", "/v1/sandboxes/:id/terminal", () => {
    throw new BurrowError("UPGRADE_REQUIRED", "the terminal is a WebSocket: connect with Upgrade: websocket");
  });
  return router;
}

/** Wire the domains together and start listening. */
export async function startServer(
  config: ServerConfig,
  agentClasses: AgentClass[] | Promise<AgentClass[]> = [],
  modules: { egress: EgressConfig } = { egress: {} },
): Promise<RunningServer> {
  // Before anything is made in it: the data directory may be a btrfs volume of its own (per-sandbox disk limits).
  if (config.dataVolume) await mountDataVolume(config.dataDir, config.dataVolume);
  mkdirSync(config.dataDir, { recursive: true });
  chmodSync(config.dataDir, 0o711); // runc's user-namespaced init must traverse it; nothing in it is listable
  const sandboxesDir = join(config.dataDir, "sandboxes");
  mkdirSync(sandboxesDir, { recursive: true, mode: 0o711 });
  const token = loadToken(config.dataDir, config.token);

  const images = new ImageStore(config.cacheDir);
  const ca = new EgressCA(join(config.dataDir, "egress-ca"));
  const trust = new TrustSources(ca.certPem, config.extraCaCerts);
  // After the settings that are checked above, before any sandbox: a data directory sandboxes cannot use is refused here.
  await checkDataDir(config.dataDir, minFreeMB(), config.uidRanges);
  const audit = new AuditLog(join(config.dataDir, "burrow.db"));
  // Rules read each sandbox's own settings from the manager, created just below.
  const rules: EgressRules = new EgressRules({ ...modules.egress, extraAllow: config.egressAllow }, (id) => sandboxes.egressSettings(id));
  const egress = new EgressProxy({ policyFor: (id) => rules.policyFor(id), handlers: modules.egress.handlers ?? {}, ca, trust, audit, dialer: new UpstreamDialer(config.upstreamProxy), hold: (id) => sandboxes.hold(id) });
  // Per-sandbox disk limits, where the data directory's filesystem can hold them (sandboxes/disk-quota.ts):
  // probed by a helper process while the mounts below are made.
  const diskProbe = DiskQuota.probe(sandboxesDir, config.defaultDiskMB); // never rejects: a failed probe is "limits off"
  // And the containers a previous server left running, for re-attaching them (sandboxes.init below).
  const runc = new Runc(config.runcBinary, join(config.dataDir, "runc"));
  runc.listEarly();
  // nosuid,nodev over the whole data directory (so a snapshot can still take an upper layer by rename),
  // then the views sandboxes are bound from; both before any container starts.
  const releaseNosuid = await mountNosuid(config.dataDir);
  const views = await mountViews(config.dataDir, ensureNodeKit(config.cacheDir), ensureRuntimeDir(config.cacheDir, distRuntimeDir()));
  const registry = new Registry(join(config.dataDir, "burrow.db"), () => imageUsage.refresh());
  const layers = new LayerStore(join(config.dataDir, "layers"));
  const dataHash = createHash("sha256").update(config.dataDir).digest("hex").slice(0, 8);
  // The image versions this data directory stands on, told to the shared cache so prune keeps them.
  const imageUsage = new ImageUsage(config.cacheDir, config.dataDir, () => [
    ...registry.all().map((r) => ({ image: r.image, version: r.imageVersion, kind: "sandbox" as const })),
    ...snapshotCatalog.all().flatMap((s) => (s.imageVersion ? [{ image: s.image, version: s.imageVersion, kind: "snapshot" as const }] : [])),
  ]);
  const disk = await diskProbe;
  const diskStatus = disk.status();
  console.log(diskStatus.enforced ? `burrow: disk limits on (btrfs quota groups; ${diskStatus.defaultMB ? `${diskStatus.defaultMB} MB per sandbox by default` : "no default limit"})` : `burrow: disk limits off: ${diskStatus.reason}`);
  const sandboxes: SandboxManager = new SandboxManager(
    registry,
    {
      disk,
      runc,
      // One host uid range per sandbox; those recorded stay with their sandboxes.
      uids: new UidRanges(config.uidRanges, registry.all()),
      sandboxesDir,
      cgroupParent: `/burrow-${dataHash}`,
      nodeKitDir: views.nodeKitDir,
      runtimeDir: views.runtimeDir,
      imageRootfs: (name, version) => {
        const rootfs = images.rootfs(name, version);
        imageUsage.pin(name, version);
        return rootfs;
      },
      imageVersion: (name, wanted) => images.resolveVersion(name, wanted),
      layerDir: (sid) => layers.path(sid),
      openEgress: (owner, socket) => egress.open(owner, socket),
      egressCaPem: () => trust.sandboxPem(),
    },
    { defaultImage: config.defaultImage, sweepIntervalMs: config.sweepIntervalMs, pool: config.pool },
  );
  // What the egress domain keeps for a sandbox goes with it.
  sandboxes.onDestroyed((id) => {
    rules.invalidate(id);
    audit.forget(id);
    egress.forget(id);
  });
  const snapshotCatalog = new SnapshotCatalog(join(config.dataDir, "burrow.db"), () => imageUsage.refresh());
  const snapshots = new SnapshotService(snapshotCatalog, layers, sandboxes, { maxDepth: config.snapshotMaxDepth });
  const blobs = openBlobStore(config.blobs);
  const scratch = join(config.dataDir, "tmp");
  const transfers = new SnapshotTransfer(snapshotCatalog, layers, blobs, scratch, {
    signingKey: readSigningKey(config.blobSigningKeyFile),
    allowSetuid: config.pullAllowSetuid,
  });
  const backupCatalog = new BackupCatalog(join(config.dataDir, "burrow.db"));
  const backups = new BackupService(backupCatalog, blobs, sandboxes, scratch);
  imageUsage.start();
  await sandboxes.init();

  // The agents host, once its classes have loaded (see pending-agents.ts); the server listens meanwhile.
  // Agents reach sandboxes through the server's own API, set once it listens (below).
  let agentSandbox: ((id: string) => Sandbox) | undefined;
  const agents = new PendingAgents(agentClasses, (classes) =>
    classes.length
      ? new AgentHost({
          dataDir: config.dataDir,
          classes,
          idleMs: config.agentIdleMs,
          sandbox: (id) => {
            if (!agentSandbox) throw new Error("the server is not listening yet");
            return agentSandbox(id);
          },
        })
      : undefined,
  );
  const preview = new PreviewProxy(sandboxes, config.previewHost);
  // E2B's SDKs under /e2b, with their own auth (the API key is this token).
  const e2b = new E2bGateway(sandboxes, token);
  // MCP clients at /mcp (Streamable HTTP), with the same bearer token as the API.
  const mcp = new McpGateway({ authorize: (req) => isAuthorized(req, token), version: "0.1.0" });
  let boundPort = config.port;
  // sbx.getHost(port) hosts of the E2B API go through the same preview proxy.
  e2b.usePreviews(preview, () => boundPort);
  const web = new WebConsole({ dataDir: config.dataDir, token, port: () => boundPort });
  const observability = new Observability({
    dataDir: config.dataDir,
    log: { format: config.logFormat, level: config.logLevel },
    perSandbox: config.metricsPerSandbox,
    sandboxes: {
      list: () => sandboxes.list(),
      running: () => sandboxes.list().filter((s) => s.state === "running").map((s) => s.id),
      dir: (id) => join(sandboxesDir, id),
      poolReady: () => Object.fromEntries(Object.keys(config.pool).map((image) => [image, sandboxes.pooled(image)])),
    },
    agentsLive: () => agents.host?.liveCount ?? 0,
  });
  const log = observability.logger;
  e2b.useUsage((id, createdAt) => observability.usage.usage(id, createdAt));
  const services: Services = {
    sandboxes, egress: { rules, proxy: egress, audit, trust }, snapshots, transfers, backups, preview, serverPort: () => boundPort, observability, web, images,
    get agents() {
      return agents.host;
    },
  };
  const router = buildRouter(services);

  const server: Server = createServer({ keepAliveTimeout: 65_000, highWaterMark: 1024 * 1024 }, (req, res) => {
    // Preview URLs are routed by host name; their token is in the name, not the Authorization header.
    const target = preview.match(req.headers.host);
    if (target) return void preview.handleRequest(req, res, target);
    if (e2b.handlePreviewRequest(req, res)) return;
    // Agents are the application's public surface: their own hooks decide who gets in.
    if (agents.handleRequest(req, res)) return;
    if (e2b.handleRequest(req, res)) return;
    if (mcp.handleRequest(req, res)) return;
    // The path as sent: a normalised one would turn `/v1/sandboxes/%2e/files` into another sandbox's route.
    const rawUrl = req.url ?? "/";
    const rawPath = rawUrl.split("?")[0]!;
    // Healthy once listening; agents may still be loading (their requests wait meanwhile).
    if (rawPath === "/healthz") return sendJson(res, 200, { ok: true, agents: agents.state });
    const requestId = newRequestId();
    res.setHeader("x-request-id", requestId);
    const started = process.hrtime.bigint();
    let route = "unmatched";
    res.once("finish", () => {
      // Route patterns, never raw paths: ids stay out of metric labels.
      observability.metrics.http.requests.inc({ route, status: String(res.statusCode) });
      observability.metrics.http.duration.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    // The dashboard's pages and files; then the API, by bearer token or by the dashboard's session cookie (Origin and CSRF checked).
    if (web.handleRequest(req, res)) return;
    const refused = isAuthorized(req, token) ? undefined : web.refusal(req, res);
    if (refused) return sendError(res, refused);
    let match;
    let query: Record<string, string>;
    try {
      if (!rawPath.startsWith("/")) throw new BurrowError("BAD_REQUEST", "the request target must be a path starting with /");
      match = router.match(req.method ?? "GET", rawPath);
      route = `${req.method} ${match.pattern}`;
      query = Object.fromEntries(new URL(rawUrl, "http://burrow").searchParams);
    } catch (err) {
      return sendError(res, err);
    }
    const handler = match.handler;
    const handle = async () => handler({ req, res, params: match.params, query });
    // Off, the request runs as is: no span, no attributes.
    const traceparent = typeof req.headers.traceparent === "string" ? req.headers.traceparent : undefined;
    (tracer.enabled ? tracer.request(req, traceparent, `HTTP ${route}`, { "http.method": req.method ?? "", "http.route": route, "burrow.request_id": requestId }, handle) : handle()).catch((err) => {
      if (!(err instanceof BurrowError)) log.error({ event: "http.error", requestId, route, err }, "request failed");
      else if (err.status >= 500) log.warn({ event: "http.error", requestId, route, code: err.code }, err.message);
      sendError(res, err);
    });
  });
  // Requests Node's parser refuses (huge headers, bad methods, garbage) get a JSON error too, where the socket still takes one.
  server.on("clientError", (err, socket) => answerClientError(err, socket));
  const cfPty = new CfPtyGateway(sandboxes, token);
  const terminals = new TerminalGateway(sandboxes, (req, id) => (isAuthorized(req, token) ? undefined : web.upgradeRefusal(req, id)));
  server.on("upgrade", (req, socket: Socket, head: Buffer) => {
    const target = preview.match(req.headers.host);
    if (target) return void preview.handleUpgrade(req, socket, head, target);
    if (e2b.handlePreviewUpgrade(req, socket, head)) return;
    if (terminals.matches(new URL(req.url ?? "/", "http://burrow").pathname)) return void terminals.handleUpgrade(req, socket, head);
    if (cfPty.matches(new URL(req.url ?? "/", "http://burrow").pathname)) return void cfPty.handleUpgrade(req, socket, head);
    if (agents.handleUpgrade(req, socket, head)) return;
    socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
  });
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(config.port, config.host, () => resolve()));
  const port = (server.address() as { port: number }).port;
  boundPort = port;
  // A metrics listener of its own (no token), on loopback only, for a local Prometheus.
  const metricsPort = config.metricsPort !== undefined ? await startMetricsPort(config.metricsPort, () => observability.metrics.text()) : undefined;
  // MCP tools and agents reach sandboxes through the server's own API (creating or waking them on first use),
  // over node:http with kept-alive sockets rather than the global fetch: it is the cheaper of the two on loopback.
  const ownUrl = `http://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${port}`;
  const loopback = nodeFetch();
  const ownApi = new Burrow({ url: ownUrl, token, fetch: loopback });
  mcp.useSandboxes((id) => ownApi.sandbox(id, {}));
  // Traced: an agent's sandbox calls carry its RPC's span, so they show as its children.
  const own = new Burrow({ url: ownUrl, token, fetch: tracer.fetch(currentAgentSpan, loopback) });
  agentSandbox = (id) => own.sandbox(id);

  return {
    url: `http://${config.host}:${port}`,
    port,
    token,
    sandboxes,
    agentsReady: agents.ready,
    async close() {
      // What cannot outlive this process is told so, then cut: streams end with an error event, terminals with 1012.
      const keepRunning = !config.stopSandboxes;
      endOpenStreams("SERVER_RESTARTING", keepRunning
        ? "the server is stopping; the sandbox keeps running: reconnect once it is back (process logs resume with since)"
        : "the server is stopping and puts its sandboxes to sleep");
      terminals.closeAll(1012, keepRunning ? "the server is restarting: reattach with terminalId" : "the server is stopping");
      server.close();
      server.closeAllConnections();
      agents.close();
      web.close();
      mcp.close();
      await metricsPort?.close();
      const leftRunning = await sandboxes.shutdown({ keepRunning });
      observability.close();
      imageUsage.stop();
      registry.close();
      snapshotCatalog.close();
      backups.close();
      backupCatalog.close();
      audit.close();
      // Running sandboxes need their run tmpfs, the kit and the nosuid data directory: those stay for the next start (live restore).
      if (leftRunning) console.log(`burrow: ${leftRunning} sandbox${leftRunning === 1 ? "" : "es"} left running for the next start to re-attach`);
      else {
        await views.release();
        await releaseNosuid();
      }
    },
  };
}
