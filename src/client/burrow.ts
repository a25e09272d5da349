import { type BackupInfo, type EnsureSandboxBody, type ErrorBody, type SandboxInfo, type SnapshotInfo, statusFor, type TransferProgress } from "../contract/index.js";
import type { PeriodUsage } from "../contract/usage.js";
import { BurrowApiError, checkSandboxId } from "./errors.js";
import { Sandbox } from "./sandbox.js";
import { Transport, type ConnectionConfig } from "./transport.js";

/** Entry point of the SDK: `new Burrow({url, token}).sandbox("name")`. */
export class Burrow {
  private readonly t: Transport;

  constructor(config: ConnectionConfig = {}) {
    this.t = new Transport(config);
  }

  toJSON(): { url: string } {
    return { url: this.t.url };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Burrow { url: ${JSON.stringify(this.t.url)} }`;
  }

  /** A handle on the sandbox with this name (like getSandbox); created or woken on first use. */
  sandbox(id: string, options?: EnsureSandboxBody): Sandbox {
    return new Sandbox(this.t, id, options); // refuses an invalid name at once
  }

  async list(): Promise<SandboxInfo[]> {
    return (await this.t.json<{ sandboxes: SandboxInfo[] }>("GET", "/v1/sandboxes")).sandboxes;
  }

  async get(id: string): Promise<SandboxInfo> {
    checkSandboxId(id);
    return this.t.json("GET", `/v1/sandboxes/${encodeURIComponent(id)}`);
  }

  /**
   * New sandboxes standing on a snapshot's disk: one name, several names, or
   * a count (named `<prefix>-1`...). Each is independent of the others and of
   * the sandbox the snapshot came from.
   */
  async fork(snapshot: string | SnapshotInfo, names: string | string[] | { count: number; prefix?: string }): Promise<Sandbox[]> {
    const sid = typeof snapshot === "string" ? snapshot : snapshot.id;
    const body = typeof names === "string" ? { names: [names] } : Array.isArray(names) ? { names } : names;
    const r = await this.t.json<{ sandboxes: { id: string }[] }>("POST", `/v1/snapshots/${encodeURIComponent(sid)}/fork`, body);
    return r.sandboxes.map((s) => this.sandbox(s.id));
  }

  /** Usage per sandbox for a period (whole hours; default the last 24 hours), for billing. */
  usage(period: { from?: Date | string; to?: Date | string } = {}): Promise<PeriodUsage> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(period)) if (v !== undefined) q.set(k, v instanceof Date ? v.toISOString() : v);
    return this.t.json("GET", `/v1/usage${q.size ? `?${q}` : ""}`);
  }

  async listSnapshots(): Promise<SnapshotInfo[]> {
    return (await this.t.json<{ snapshots: SnapshotInfo[] }>("GET", "/v1/snapshots")).snapshots;
  }

  getSnapshot(id: string): Promise<SnapshotInfo> {
    return this.t.json("GET", `/v1/snapshots/${encodeURIComponent(id)}`);
  }

  async deleteSnapshot(id: string): Promise<void> {
    await this.t.json("DELETE", `/v1/snapshots/${encodeURIComponent(id)}`);
  }

  /** Copy a snapshot's layers to the blob store, so another machine can pull them. */
  pushSnapshot(id: string, opts: { onProgress?: (p: TransferProgress) => void } = {}): Promise<SnapshotInfo> {
    return this.transfer("push", id, opts.onProgress);
  }

  /** Fetch a snapshot (and the ones under it) from the blob store; its archive is checked by sha256 before use. */
  pullSnapshot(id: string, opts: { onProgress?: (p: TransferProgress) => void } = {}): Promise<SnapshotInfo> {
    return this.transfer("pull", id, opts.onProgress);
  }

  /** With a progress callback the server streams NDJSON progress lines, then the result. */
  private async transfer(kind: "push" | "pull", id: string, onProgress?: (p: TransferProgress) => void): Promise<SnapshotInfo> {
    const path = `/v1/snapshots/${encodeURIComponent(id)}/${kind}`;
    if (!onProgress) return this.t.json("POST", path);
    const res = await this.t.request("POST", path, { headers: { accept: "application/x-ndjson" } });
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const ev = JSON.parse(buffered.slice(0, nl)) as TransferProgress | { type: "done"; snapshot: SnapshotInfo } | ({ type: "error" } & ErrorBody);
        buffered = buffered.slice(nl + 1);
        if (ev.type === "progress") onProgress(ev);
        else if (ev.type === "done") return ev.snapshot;
        else throw new BurrowApiError(statusFor(ev.code), ev);
      }
    }
    throw new BurrowApiError(502, { code: "UPSTREAM_UNAVAILABLE", message: `the ${kind} stream ended without a result` });
  }

  async listBackups(): Promise<BackupInfo[]> {
    return (await this.t.json<{ backups: BackupInfo[] }>("GET", "/v1/backups")).backups;
  }

  async deleteBackup(id: string): Promise<void> {
    await this.t.json("DELETE", `/v1/backups/${encodeURIComponent(id)}`);
  }
}
