import { mkdirSync } from "node:fs";
import { BurrowError, type SnapshotInfo, type TransferProgress } from "../contract/index.js";
import type { BlobStore } from "../blobs/index.js";
import { archiveLayer, extractLayer, fileDigest, scratchFile } from "./archive.js";
import { type SnapshotCatalog, type SnapshotRecord, toInfo } from "./catalog.js";
import type { LayerStore } from "./layer-store.js";

/** What the blob store keeps beside an archive: the snapshot's record, its archive filled in. */
type Manifest = SnapshotRecord & { archive: NonNullable<SnapshotRecord["archive"]> };

const manifestKey = (sid: string) => `snapshots/${sid}.json`;
const archiveKey = (digest: string) => `layers/sha256-${digest}.tar.zst`;

/**
 * Moving snapshots between a machine and the blob store. An archive is
 * stored under its own sha256 (content-addressed) and checked against it
 * before a single file is unpacked.
 */
export class SnapshotTransfer {
  constructor(
    private readonly catalog: SnapshotCatalog,
    private readonly layers: LayerStore,
    private readonly blobs: BlobStore,
    private readonly scratchDir: string,
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
        await this.blobs.putJson(manifestKey(id), manifest);
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
  async pull(sid: string, progress: (p: TransferProgress) => void = () => {}): Promise<SnapshotInfo> {
    const have = this.catalog.get(sid);
    if (have && this.layers.has(sid)) return toInfo(have);
    const manifest = await this.blobs.getJson<Manifest>(manifestKey(sid)).catch((err: Error) => {
      throw new BurrowError("BLOB_STORE_FAILED", `could not read the ${this.blobs.kind} blob store: ${err.message}`);
    });
    if (!manifest) throw new BurrowError("SNAPSHOT_NOT_FOUND", `snapshot ${sid} is neither on this server nor in the blob store`, { id: sid });
    for (const parent of manifest.parents) if (!this.layers.has(parent) || !this.catalog.get(parent)) await this.pull(parent, progress);
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
      await extractLayer(tmp.path, stage.dir);
      stage.commit();
      this.catalog.put(manifest);
      return toInfo(manifest);
    } catch (err) {
      stage.abort();
      if (err instanceof BurrowError) throw err;
      throw new BurrowError("BLOB_STORE_FAILED", `could not pull snapshot ${sid} from the ${this.blobs.kind} blob store: ${(err as Error).message}`);
    } finally {
      await tmp.dispose();
    }
  }

  private local(sid: string): SnapshotRecord {
    const s = this.catalog.get(sid);
    if (!s) throw new BurrowError("SNAPSHOT_NOT_FOUND", `no snapshot ${sid}; GET /v1/snapshots lists them`, { id: sid });
    return s;
  }
}
