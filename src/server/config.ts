import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import type { BlobConfig } from "../blobs/index.js";
import { MIN_DISK_MB, SnapshotId } from "../contract/index.js";
import { DEFAULT_DISK_MB, SNAPSHOT_POOL_PREFIX } from "../sandboxes/index.js";
import { parseVolumeSize } from "./data-volume.js";
import { upstreamProxyConfig, type UpstreamProxyConfig } from "../egress/upstream-proxy.js";
import { parseUidPool, type UidPool } from "../sandboxes/uid-ranges.js";

/** Everything a server needs to know at start, from flags first, then environment, then defaults. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  cacheDir: string;
  token?: string;
  previewHost: string;
  defaultImage: string;
  /** Hosts the egress proxy lets through even when they resolve to private or loopback addresses. */
  egressAllow: string[];
  /** How often idle sandboxes are looked for, in ms. */
  sweepIntervalMs: number;
  runcBinary: string;
  /** A module whose exported Agent classes this server hosts (JS, or TS compiled on load). */
  agentsModule?: string;
  /** Host the example agents (what `npm start` does). */
  examples: boolean;
  /** Idle agent instances leave memory after this long. */
  agentIdleMs: number;
  /** Snapshot chains deeper than this are flattened into one layer. */
  snapshotMaxDepth: number;
  /** Where snapshot archives and backups go: a directory, or an S3-compatible bucket. */
  blobs: BlobConfig;
  /** Sandboxes kept started ahead of need, per image. */
  pool: Record<string, number>;
  /** A JS/TS module whose default export holds code: egress handlers. */
  configModule?: string;
  /** A file whose bytes are the HMAC key that signs pushed snapshot manifests and authenticates pulled ones. */
  blobSigningKeyFile?: string;
  /** Keep setuid/setgid bits and file capabilities in pulled snapshot archives. */
  pullAllowSetuid: boolean;
  /** Serve /metrics without the token on 127.0.0.1:<port> as well. */
  metricsPort?: number;
  /** Per-sandbox metric series (cpu, memory, disk, egress); off for large installations. */
  metricsPerSandbox: boolean;
  logFormat: "json" | "pretty";
  logLevel: string;
  /** A PEM bundle of CAs every sandbox trusts, and the egress proxy too when it verifies upstreams. */
  extraCaCerts?: string;
  /** The HTTP proxy the egress proxy dials the internet through (--upstream-proxy, else HTTPS_PROXY/HTTP_PROXY), and NO_PROXY. */
  upstreamProxy: UpstreamProxyConfig;
  /** Put every running sandbox to sleep when the server stops (--stop-sandboxes); by default they keep running for the next start to re-attach. */
  stopSandboxes: boolean;
  /** `--uid-ranges BASE:COUNT`: the host id ranges sandboxes get one each of (sandboxes/uid-ranges.ts). */
  uidRanges: UidPool;
  /** The disk limit of a sandbox created without `limits.diskMB`, where disk limits are enforced (0: none). */
  defaultDiskMB: number;
  /** `--data-volume SIZE`: keep the data directory on a btrfs image of this size with quotas on (data-volume.ts). */
  dataVolume?: string;
}

/** `--pool 2` (the default image), `--pool default=2,python=1`, and `snapshot:<id>=N` for forks of a snapshot. */
function poolSizes(spec: string, defaultImage: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [image, n] = part.includes("=") ? part.split("=") : [defaultImage, part];
    const count = Number(n);
    if (!image || !Number.isInteger(count) || count < 0 || count > 64) throw new Error(`--pool takes N or image=N,... (an image, or snapshot:<id> for forks of that snapshot) with N from 0 to 64; got ${JSON.stringify(part)}`);
    if (image.startsWith(SNAPSHOT_POOL_PREFIX) && !SnapshotId.safeParse(image.slice(SNAPSHOT_POOL_PREFIX.length)).success)
      throw new Error(`--pool ${JSON.stringify(part)}: after snapshot: comes a snapshot id, like snapshot:snap-0123456789ab=2 (burrow snapshot ls lists them)`);
    if (count > 0) out[image] = count;
  }
  return out;
}

/** `BURROW_S3_BUCKET` switches the blob store to S3; otherwise `BURROW_BLOBS` or `<data>/blobs`. */
function blobConfig(env: NodeJS.ProcessEnv, dataDir: string): BlobConfig {
  if (env.BURROW_S3_BUCKET)
    return {
      kind: "s3",
      bucket: env.BURROW_S3_BUCKET,
      endpoint: env.BURROW_S3_ENDPOINT || undefined,
      region: env.BURROW_S3_REGION ?? env.AWS_REGION ?? "us-east-1",
      prefix: env.BURROW_S3_PREFIX ?? "",
      accessKeyId: env.BURROW_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.BURROW_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
    };
  return { kind: "local", dir: resolve(env.BURROW_BLOBS ?? join(dataDir, "blobs")) };
}

function observabilityConfig(port: string | undefined, perSandbox: string | undefined, format: string | undefined, level: string | undefined) {
  const metricsPort = port === undefined ? undefined : Number(port);
  if (metricsPort !== undefined && (!/^\d+$/.test(port!) || metricsPort > 65535)) throw new Error(`--metrics-port must be a port number, got ${port}`);
  if (perSandbox !== undefined && perSandbox !== "true" && perSandbox !== "false") throw new Error(`--metrics-per-sandbox takes true or false, got ${perSandbox}`);
  if (format !== undefined && format !== "json" && format !== "pretty") throw new Error(`--log-format takes json or pretty, got ${format}`);
  const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
  if (level !== undefined && !levels.includes(level)) throw new Error(`--log-level takes one of ${levels.join(", ")}, got ${level}`);
  return { metricsPort, metricsPerSandbox: perSandbox !== "false", logFormat: (format ?? "json") as "json" | "pretty", logLevel: level ?? "info" };
}

/** `--upstream-proxy` given without a value (parseArgs reads it as true) is a mistake, not "use the environment". */
function upstreamProxyFlag(v: unknown): string | undefined {
  if (v === true) throw new Error("--upstream-proxy needs a URL (http://[user:password@]host:port) or none");
  return typeof v === "string" ? v : undefined;
}

/** `--default-disk-mb N`: whole megabytes, 0 for no limit unless a sandbox asks for one. */
function defaultDiskMB(v: string | undefined): number {
  if (v === undefined || v === "") return DEFAULT_DISK_MB;
  if (!/^\d{1,9}$/.test(v) || (Number(v) > 0 && Number(v) < MIN_DISK_MB))
    throw new Error(`--default-disk-mb takes a whole number of megabytes, at least ${MIN_DISK_MB} (or 0 for no default limit); got ${JSON.stringify(v)}`);
  return Number(v);
}

/** `--data-volume SIZE`, checked at start rather than when the volume is made. */
function dataVolumeFlag(v: string | undefined): string | undefined {
  if (v !== undefined) parseVolumeSize(v);
  return v;
}

export function defaultCacheDir(): string {
  return process.env.BURROW_CACHE ?? "/var/cache/burrow";
}

export function loadConfig(argv: string[] = [], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      data: { type: "string" },
      "preview-host": { type: "string" },
      "egress-allow": { type: "string", multiple: true },
      examples: { type: "boolean" },
      agents: { type: "string" },
      config: { type: "string" },
      pool: { type: "string" },
      "blob-signing-key": { type: "string" },
      "metrics-port": { type: "string" },
      "metrics-per-sandbox": { type: "string" },
      "log-format": { type: "string" },
      "log-level": { type: "string" },
      "extra-ca-certs": { type: "string" },
      "upstream-proxy": { type: "string" },
      "stop-sandboxes": { type: "boolean" },
      "uid-ranges": { type: "string" },
      "default-disk-mb": { type: "string" },
      "data-volume": { type: "string" },
    },
    allowPositionals: true,
    strict: false,
  });
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const port = Number(str(values.port) ?? env.BURROW_PORT ?? 7070);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${String(values.port ?? env.BURROW_PORT)}`);
  const allowFlag = Array.isArray(values["egress-allow"]) ? (values["egress-allow"] as string[]) : [];
  const allowEnv = (env.BURROW_EGRESS_ALLOW ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const dataDir = resolve(str(values.data) ?? env.BURROW_DATA ?? "/var/lib/burrow");
  return {
    host: str(values.host) ?? env.BURROW_HOST ?? "127.0.0.1",
    port,
    dataDir,
    cacheDir: resolve(defaultCacheDir()),
    token: env.BURROW_TOKEN || undefined,
    previewHost: str(values["preview-host"]) ?? env.BURROW_PREVIEW_HOST ?? "localhost",
    defaultImage: env.BURROW_DEFAULT_IMAGE ?? "default",
    egressAllow: [...allowFlag, ...allowEnv],
    sweepIntervalMs: Number(env.BURROW_SWEEP_MS ?? 2000),
    runcBinary: env.BURROW_RUNC ?? "runc",
    agentsModule: str(values.agents) ?? env.BURROW_AGENTS,
    examples: values.examples === true,
    agentIdleMs: Number(env.BURROW_AGENT_IDLE_MS ?? 60_000),
    snapshotMaxDepth: Math.max(1, Number(env.BURROW_SNAPSHOT_MAX_DEPTH ?? 8)),
    blobs: blobConfig(env, dataDir),
    configModule: str(values.config) ?? env.BURROW_CONFIG,
    blobSigningKeyFile: str(values["blob-signing-key"]) ?? (env.BURROW_BLOB_SIGNING_KEY_FILE || undefined),
    pullAllowSetuid: env.BURROW_PULL_ALLOW_SETUID === "1",
    ...observabilityConfig(str(values["metrics-port"]) ?? env.BURROW_METRICS_PORT, str(values["metrics-per-sandbox"]) ?? env.BURROW_METRICS_PER_SANDBOX,
      str(values["log-format"]) ?? env.BURROW_LOG_FORMAT, str(values["log-level"]) ?? env.BURROW_LOG_LEVEL),
    extraCaCerts: (str(values["extra-ca-certs"]) ?? env.BURROW_EXTRA_CA_CERTS) || undefined,
    upstreamProxy: upstreamProxyConfig(upstreamProxyFlag(values["upstream-proxy"]), env),
    stopSandboxes: values["stop-sandboxes"] === true || env.BURROW_STOP_SANDBOXES === "1",
    uidRanges: parseUidPool(str(values["uid-ranges"]) ?? env.BURROW_UID_RANGES),
    dataVolume: dataVolumeFlag(str(values["data-volume"]) ?? (env.BURROW_DATA_VOLUME || undefined)),
    defaultDiskMB: defaultDiskMB(str(values["default-disk-mb"]) ?? env.BURROW_DEFAULT_DISK_MB),
    pool: poolSizes(str(values.pool) ?? env.BURROW_POOL ?? "2", env.BURROW_DEFAULT_IMAGE ?? "default"),
  };
}
