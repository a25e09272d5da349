import { mkdirSync } from "node:fs";
import { BurrowError, type SnapshotInfo, type TransferProgress } from "../contract/index.js";
import type { BlobStore } from "../blobs/index.js";
import { extractArchive, JailError } from "../confine/index.js";
import { archiveLayer, fileDigest, scratchFile } from "./archive.js";
import { type SnapshotCatalog, toInfo } from "./catalog.js";
import type { LayerStore } from "./layer-store.js";
import { type Manifest, manifestDigest, sign, SignedManifest, trustOf } from "./manifest.js";

const manifestKey = (sid: string) => `snapshots/${sid}.json`;
const archiveKey = (digest: string) => `layers/sha256-${digest}.tar.zst`;

export interface TransferOptions {
  /** HMAC key: pushes are signed with it, and pulls of manifests signed with it are trusted. */
  signingKey?: Buffer;
  /** Keep setuid/setgid bits and file capabilities from pulled archives (off: they are dropped). */
  allowSetuid?: boolean;
}

/**
 * Moving snapshots between a machine and the blob store. An archive is
 * stored under its own sha256 (content-addressed) and checked against it
 * before a single file is unpacked; the manifest that names the digest is
 * validated and authenticated first (see manifest.ts).
 */
export class SnapshotTransfer {
  constructor(
    private readonly catalog: SnapshotCatalog,
    private readonly layers: LayerStore,
    private readonly blobs: BlobStore,
    private readonly scratchDir: string,
    private readonly options: TransferOptions = {},
  ) {
    mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  }

  /** Push a snapshot and every layer under it that is not in the store yet. */
  async push(sid: string, progress: (p: TransferProgress) => void = () => {}): Promise<SnapshotInfo> {
    const top = this.local(sid);
    for (const id of [...top.parents].reverse().concat(sid)) {
      const s = this.local(id);
      if (s.archive && (await this.blobs.has(archiveKey(s.archive.digest)))) continue;
      const tmp = scratchFile(this.scratchDir, ".tar.zst");
      try {
        const a = await archiveLayer(this.layers.path(id), tmp.path, (bytes) => progress({ type: "progress", phase: "archive", bytes }));
        await this.blobs.putFile(archiveKey(a.digest), tmp.path, (bytes, totalBytes) => progress({ type: "progress", phase: "upload", bytes, totalBytes }));
        const archive = { ...a, pushedAt: new Date().toISOString() };
        const manifest: Manifest = { ...s, archive };
        this.catalog.rememberPushed(id, manifestDigest(manifest));
        const key = this.options.signingKey;
        await this.blobs.putJson(manifestKey(id), key ? { ...manifest, signature: sign(manifest, key) } : manifest);
        this.catalog.put({ ...s, archive });
      } catch (err) {
        if (err instanceof BurrowError) throw err;
        throw new BurrowError("BLOB_STORE_FAILED", `could not push snapshot ${id} to the ${this.blobs.kind} blob store: ${(err as Error).message}`);
      } finally {
        await tmp.dispose();
      }
    }
    return toInfo(this.local(sid));
  }

  /** Fetch a snapshot this machine lacks (and the layers under it); nothing is recorded unless it all checks out. */
  async pull(sid: string, progress: (p: TransferProgress) => void = () => {}, seen = new Set<string>()): Promise<SnapshotInfo> {
    const have = this.catalog.get(sid);
    if (have && this.layers.has(sid)) return toInfo(have);
    if (seen.has(sid)) throw new BurrowError("MANIFEST_INVALID", `snapshot ${sid} lists itself among its parents in the blob store; nothing was restored`);
    seen.add(sid);
    const manifest = await this.trustedManifest(sid);
    for (const parent of manifest.parents) if (!this.layers.has(parent) || !this.catalog.get(parent)) await this.pull(parent, progress, seen);
    const tmp = scratchFile(this.scratchDir, ".tar.zst");
    const stage = this.layers.staging(sid);
    try {
      const found = await this.blobs.getFile(archiveKey(manifest.archive.digest), tmp.path, (bytes, totalBytes) =>
        progress({ type: "progress", phase: "download", bytes, totalBytes }),
      );
      if (!found) throw new BurrowError("ARCHIVE_CORRUPT", `the archive of snapshot ${sid} is missing from the blob store`);
      progress({ type: "progress", phase: "verify", bytes: manifest.archive.sizeBytes });
      const digest = await fileDigest(tmp.path);
      if (digest !== manifest.archive.digest)
        throw new BurrowError("ARCHIVE_CORRUPT", `the archive of snapshot ${sid} is corrupt or truncated (sha256 ${digest.slice(0, 12)}…, expected ${manifest.archive.digest.slice(0, 12)}…); nothing was restored`);
      progress({ type: "progress", phase: "extract", bytes: manifest.archive.sizeBytes });
      await extractArchive(tmp.path, stage.dir, { tarArgs: ["--zstd"], allowSetuid: this.options.allowSetuid }).catch((err: Error) => {
        throw err instanceof JailError ? new BurrowError("ARCHIVE_CORRUPT", `the archive of snapshot ${sid} was refused: ${err.message}; nothing was restored`) : err;
      });
      stage.commit();
      this.catalog.put({ ...manifest });
      return toInfo(manifest);
    } catch (err) {
      await stage.abort();
      if (err instanceof BurrowError) throw err;
      throw new BurrowError("BLOB_STORE_FAILED", `could not pull snapshot ${sid} from the ${this.blobs.kind} blob store: ${(err as Error).message}`);
    } finally {
      await tmp.dispose();
    }
  }

  /** Read, validate and authenticate a manifest from the store. */
  private async trustedManifest(sid: string): Promise<Manifest> {
    const raw = await this.blobs.getJson<unknown>(manifestKey(sid)).catch((err: Error) => {
      throw new BurrowError("BLOB_STORE_FAILED", `could not read the ${this.blobs.kind} blob store: ${err.message}`);
    });
    if (raw === undefined) throw new BurrowError("SNAPSHOT_NOT_FOUND", `snapshot ${sid} is neither on this server nor in the blob store`, { id: sid });
    const parsed = SignedManifest.safeParse(raw);
    if (!parsed.success || parsed.data.id !== sid || parsed.data.parents.includes(sid))
      throw new BurrowError("MANIFEST_INVALID", `the blob store's manifest for snapshot ${sid} is malformed (${parsed.success ? "its id or parents do not match" : parsed.error.issues[0]?.message}); nothing was restored`);
    const trust = trustOf(parsed.data, this.catalog.pushedDigest(sid), this.options.signingKey);
    if (!trust)
      throw new BurrowError(
        "MANIFEST_UNTRUSTED",
        `snapshot ${sid} in the blob store was not pushed by this server and carries no valid signature; set the same --blob-signing-key on the servers that share the store`,
        { id: sid },
      );
    const { signature: _sig, ...manifest } = parsed.data;
    return manifest;
  }

  private local(sid: string) {
    const s = this.catalog.get(sid);
    if (!s) throw new BurrowError("SNAPSHOT_NOT_FOUND", `no snapshot ${sid}; GET /v1/snapshots lists them`, { id: sid });
    return s;
  }
}
