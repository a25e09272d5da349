/**
 * `BurrowSandboxClient`: the OpenAI Agents SDK's SandboxClient for Burrow.
 * `run(agent, input, { sandbox: { client: new BurrowSandboxClient({ url, token }) } })`
 * runs a SandboxAgent's shell, filesystem and other capabilities in a Burrow
 * sandbox, on your own machine.
 */
import { nodeFetch } from "../../lib/node-fetch.js";
import { UserError } from "@openai/agents";
import {
  Manifest, normalizeSandboxClientCreateArgs, SandboxUnsupportedFeatureError,
  type SandboxArchiveLimits, type SandboxClient, type SandboxClientCreateArgs, type SandboxClientResumeOptions, type SandboxConcurrencyLimits,
} from "@openai/agents/sandbox";
import { deserializeManifest, rehydratePersistedEnvironmentForRuntime, sanitizeEnvironmentForPersistence, serializeManifestRecord } from "@openai/agents-core/sandbox/internal";
import { Burrow, BurrowApiError, type ConnectionConfig } from "../../client/index.js";
import type { EgressPolicyBody, EnsureSandboxBody } from "../../contract/index.js";
import { BurrowSandboxSession, type BurrowSandboxSessionState } from "./session.js";

/** What a session's sandbox is made with; set on the client, or per run as `sandbox.options`. */
export interface BurrowSandboxOptions {
  [key: string]: unknown;
  /** The sandbox's name: a named sandbox is reused (created on first use) and left in place when the session ends. Default: a fresh `oa-<random>` one per session, destroyed at the end. */
  name?: string;
  /** Destroy the sandbox when the session is deleted (default: true for a fresh one, false for a named one). */
  deleteOnClose?: boolean;
  image?: string;
  /** Variables every command in the sandbox sees (the manifest's environment is added per command). */
  env?: Record<string, string>;
  limits?: EnsureSandboxBody["limits"];
  /** Idle time before Burrow puts the sandbox to sleep (`"10m"`, seconds); its disk stays, the next call wakes it. */
  sleepAfter?: EnsureSandboxBody["sleepAfter"];
  keepAlive?: boolean;
  labels?: Record<string, string>;
  /** Start a new sandbox from this Burrow snapshot's disk (`snap-...`). */
  fromSnapshot?: string;
  /** The sandbox's egress policy (allowed and denied hosts, internet on or off), set when the session starts. */
  egress?: EgressPolicyBody;
  /** Ports `resolveExposedPort` may publish as preview URLs (default: any). */
  exposedPorts?: number[];
  archiveLimits?: SandboxArchiveLimits | null;
  concurrencyLimits?: SandboxConcurrencyLimits;
}

export interface BurrowSandboxClientOptions extends ConnectionConfig, BurrowSandboxOptions {}

const CONNECTION_KEYS = ["url", "token", "fetch"] as const;

function sandboxBody(o: BurrowSandboxOptions): EnsureSandboxBody {
  const body: EnsureSandboxBody = {};
  if (o.image !== undefined) body.image = o.image;
  if (o.env !== undefined) body.env = o.env;
  if (o.limits !== undefined) body.limits = o.limits;
  if (o.sleepAfter !== undefined) body.sleepAfter = o.sleepAfter;
  if (o.keepAlive !== undefined) body.keepAlive = o.keepAlive;
  if (o.labels !== undefined) body.labels = o.labels;
  if (o.fromSnapshot !== undefined) body.fromSnapshot = o.fromSnapshot;
  return body;
}

export class BurrowSandboxClient implements SandboxClient<BurrowSandboxOptions, BurrowSandboxSessionState> {
  readonly backendId = "burrow";
  readonly burrow: Burrow;
  private readonly defaults: BurrowSandboxOptions;

  constructor(options: BurrowSandboxClientOptions = {}) {
    // node:http with kept-alive sockets by default: the SDK runs in Node, and each tool call is a request or several.
    this.burrow = new Burrow({ url: options.url, token: options.token, fetch: options.fetch ?? nodeFetch() });
    const defaults: BurrowSandboxOptions = { ...options };
    for (const k of CONNECTION_KEYS) delete defaults[k];
    this.defaults = defaults;
  }

  /** The client's URL only: the token never shows in logs or serialised state. */
  toJSON(): { backendId: string; url: string } {
    return { backendId: this.backendId, url: this.burrow.toJSON().url };
  }

  /** A session on a new (or the named) sandbox, with the manifest's files, repositories, users and environment in place. */
  async create(args?: SandboxClientCreateArgs<BurrowSandboxOptions> | Manifest, manifestOptions?: BurrowSandboxOptions): Promise<BurrowSandboxSession> {
    const a = normalizeSandboxClientCreateArgs(args, manifestOptions);
    if (a.snapshot && a.snapshot.type !== "noop")
      throw new SandboxUnsupportedFeatureError("BurrowSandboxClient does not take the SDK's snapshot specs; start from a Burrow snapshot with the fromSnapshot option", { provider: "burrow", feature: "snapshot" });
    const o: BurrowSandboxOptions = { ...this.defaults, ...(a.options ?? {}) };
    const manifest = a.manifest;
    const sandboxId = o.name ?? `oa-${Math.random().toString(36).slice(2, 12)}`;
    const sbx = this.burrow.sandbox(sandboxId);
    const { created } = await sbx.ensure(sandboxBody(o));
    if (o.egress) await sbx.setEgress(o.egress);
    const state: BurrowSandboxSessionState = {
      manifest,
      environment: await manifest.resolveEnvironment(),
      sandboxId,
      ownsSandbox: o.deleteOnClose ?? (o.name === undefined && created),
      ...(o.image ? { image: o.image } : {}),
      ...(o.exposedPorts ? { configuredExposedPorts: [...o.exposedPorts] } : {}),
    };
    const session = new BurrowSandboxSession(this.burrow, state, { archiveLimits: a.archiveLimits ?? o.archiveLimits, concurrencyLimits: a.concurrencyLimits ?? o.concurrencyLimits });
    try {
      await session.materialize(manifest);
    } catch (err) {
      await session.delete().catch(() => {});
      throw err;
    }
    return session;
  }

  /** A session on the sandbox a (deserialised) state names; it must still exist. */
  async resume(state: BurrowSandboxSessionState, options: SandboxClientResumeOptions<BurrowSandboxOptions> = {}): Promise<BurrowSandboxSession> {
    const session = new BurrowSandboxSession(this.burrow, state, {
      archiveLimits: options.archiveLimits === undefined ? (options.clientOptions?.archiveLimits ?? this.defaults.archiveLimits) : options.archiveLimits,
      concurrencyLimits: options.clientOptions?.concurrencyLimits ?? this.defaults.concurrencyLimits,
    });
    try {
      await this.burrow.get(state.sandboxId);
    } catch (err) {
      if (err instanceof BurrowApiError && err.status === 404)
        throw new UserError(`Burrow sandbox ${state.sandboxId} no longer exists, so this session cannot be resumed; start a new one (its workspace can be carried over with persistWorkspace and hydrateWorkspace)`);
      throw err;
    }
    return session;
  }

  /** Destroy the state's sandbox (when the session made it). */
  async delete(state: BurrowSandboxSessionState): Promise<void> {
    await new BurrowSandboxSession(this.burrow, state).delete();
  }

  /** Only names and settings: no URL, no token; ephemeral environment values are left out. */
  async serializeSessionState(state: BurrowSandboxSessionState): Promise<Record<string, unknown>> {
    return {
      sandboxId: state.sandboxId,
      ownsSandbox: state.ownsSandbox,
      ...(state.image ? { image: state.image } : {}),
      ...(state.defaultShell ? { defaultShell: state.defaultShell } : {}),
      ...(state.configuredExposedPorts ? { configuredExposedPorts: state.configuredExposedPorts } : {}),
      ...(state.exposedPorts ? { exposedPorts: structuredClone(state.exposedPorts) } : {}),
      manifest: serializeManifestRecord(state.manifest),
      environment: sanitizeEnvironmentForPersistence({ manifest: state.manifest, environment: state.environment }),
    };
  }

  async deserializeSessionState(state: Record<string, unknown>): Promise<BurrowSandboxSessionState> {
    const sandboxId = state.sandboxId;
    if (typeof sandboxId !== "string" || !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(sandboxId))
      throw new UserError("Burrow session state has no valid sandboxId (a Burrow sandbox name); it cannot be resumed");
    const manifest = deserializeManifest(state.manifest as Record<string, unknown> | undefined);
    const env = state.environment && typeof state.environment === "object" ? (state.environment as Record<string, string>) : undefined;
    const ports = Array.isArray(state.configuredExposedPorts) ? state.configuredExposedPorts.filter((p): p is number => Number.isInteger(p)) : undefined;
    return {
      manifest,
      environment: await rehydratePersistedEnvironmentForRuntime(manifest, env),
      sandboxId,
      ownsSandbox: state.ownsSandbox === true,
      ...(typeof state.image === "string" ? { image: state.image } : {}),
      ...(state.defaultShell === "/bin/bash" || state.defaultShell === "/bin/sh" ? { defaultShell: state.defaultShell } : {}),
      ...(ports ? { configuredExposedPorts: ports } : {}),
      ...(state.exposedPorts && typeof state.exposedPorts === "object" ? { exposedPorts: state.exposedPorts as BurrowSandboxSessionState["exposedPorts"] } : {}),
      ...(typeof state.workspaceReady === "boolean" ? { workspaceReady: state.workspaceReady } : {}),
    };
  }
}
