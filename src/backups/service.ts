import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { BurrowError, durationSeconds, type BackupInfo, type CreateBackupBody, type RestoreBackupBody } from "../contract/index.js";
import type { BlobStore } from "../blobs/index.js";
import type { SandboxManager } from "../sandboxes/index.js";
import { errorFrom, readAll } from "../sandboxes/runtime-client.js";
import type { BackupCatalog } from "./catalog.js";

const DEFAULT_TTL_S = 7 * 24 * 3600;
const blobKey = (id: string) => `backups/${id}.tar.gz`;

/** Directories inside a sandbox are absolute, without `..`: the runtime resolves them inside the sandbox only. */
function checkDir(dir: string): string {
  if (!dir.startsWith("/") || dir.includes("\0") || dir.split("/").includes(".."))
    throw new BurrowError("INVALID_PATH", `${JSON.stringify(dir)}: give an absolute path inside the sandbox, without ..`, { path: dir });
  const clean = posix.normalize(dir).replace(/\/+$/, "") || "/";
  if (clean === "/") throw new BurrowError("INVALID_PATH", "back up or restore a directory, not the whole disk (/); use a snapshot for that", { path: dir });
  return clean;
}

/**
 * Backups: a directory of a sandbox archived (by the runtime, inside the
 * sandbox) to the blob store, and put back into the same or another sandbox.
 */
export class BackupService {
  private readonly sweeper: NodeJS.Timeout;
  /** Expired backups whose archive this process already removed (each is deleted once, not every sweep). */
  private readonly purged = new Set<string>();

  constructor(
    private readonly catalog: BackupCatalog,
    private readonly blobs: BlobStore,
    private readonly sandboxes: SandboxManager,
    private readonly scratchDir: string,
  ) {
    mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
    this.sweeper = setInterval(() => void this.expire(), 60_000);
    this.sweeper.unref();
  }

  async create(sandboxId: string, body: CreateBackupBody): Promise<BackupInfo> {
    const dir = checkDir(body.dir);
    const rt = await this.sandboxes.runtime(sandboxId);
    const release = this.sandboxes.hold(sandboxId);
    const id = `bak-${randomBytes(8).toString("hex")}`;
    const tmp = join(this.scratchDir, `${id}.tar.gz`);
    try {
      const res = await rt.send("POST", "/backup", { dir, excludes: body.excludes, gitignore: body.gitignore });
      if ((res.statusCode ?? 500) >= 400) throw errorFrom(JSON.parse((await readAll(res)) || "{}"));
      const hash = createHash("sha256");
      await pipeline(res, new Transform({ transform: (c: Buffer, _e, cb) => (hash.update(c), cb(null, c)) }), createWriteStream(tmp));
      const failure = res.trailers["x-burrow-error"];
      if (failure) throw new BurrowError("INTERNAL", `the backup of ${dir} failed inside the sandbox: ${decodeURIComponent(failure)}`);
      if (res.trailers["x-burrow-files"] === undefined) throw new BurrowError("RUNTIME_UNAVAILABLE", "the sandbox's runtime stopped before the backup was complete; retry");
      await this.blobs.putFile(blobKey(id), tmp);
      const now = Date.now();
      const info: BackupInfo = {
        id,
        sandboxId,
        dir,
        name: body.name ?? null,
        sizeBytes: (await stat(tmp)).size,
        files: Number(res.trailers["x-burrow-files"]),
        digest: hash.digest("hex"),
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + (body.ttl !== undefined ? durationSeconds(body.ttl) : DEFAULT_TTL_S) * 1000).toISOString(),
      };
      this.catalog.put(info);
      return info;
    } finally {
      release();
      await rm(tmp, { force: true });
    }
  }

  /** Put a backup back into `sandboxId` (any sandbox), at its own directory or `body.dir`. */
  async restore(sandboxId: string, backupId: string, body: RestoreBackupBody): Promise<{ id: string; sandboxId: string; dir: string; files: number }> {
    const info = this.get(backupId);
    const dir = checkDir(body.dir ?? info.dir);
    const tmp = join(this.scratchDir, `${backupId}-${randomBytes(4).toString("hex")}.tar.gz`);
    try {
      if (!(await this.blobs.getFile(blobKey(backupId), tmp)))
        throw new BurrowError("BACKUP_NOT_FOUND", `the archive of backup ${backupId} is gone from the blob store`, { id: backupId });
      const hash = createHash("sha256");
      await pipeline(createReadStream(tmp), hash);
      if (hash.digest("hex") !== info.digest) throw new BurrowError("ARCHIVE_CORRUPT", `the archive of backup ${backupId} is corrupt; nothing was restored`);
      const rt = await this.sandboxes.runtime(sandboxId);
      const res = await rt.send("PUT", `/backup?dir=${encodeURIComponent(dir)}`, createReadStream(tmp), { "content-type": "application/gzip" });
      const answer = JSON.parse((await readAll(res)) || "{}");
      if ((res.statusCode ?? 500) >= 400) throw errorFrom(answer);
      return { id: backupId, sandboxId, dir, files: answer.files };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  get(id: string): BackupInfo {
    const info = this.catalog.get(id);
    if (!info) throw new BurrowError("BACKUP_NOT_FOUND", `no backup ${id}; GET /v1/backups lists them`, { id });
    if (Date.parse(info.expiresAt) <= Date.now())
      throw new BurrowError("BACKUP_EXPIRED", `backup ${id} expired at ${info.expiresAt}; take a new one (ttl sets how long one is kept)`, { id });
    return info;
  }

  list(): BackupInfo[] {
    const now = Date.now();
    return this.catalog.all().filter((b) => Date.parse(b.expiresAt) > now);
  }

  async delete(id: string): Promise<void> {
    if (!this.catalog.get(id)) throw new BurrowError("BACKUP_NOT_FOUND", `no backup ${id}`, { id });
    this.catalog.delete(id);
    await this.blobs.delete(blobKey(id));
  }

  /** Expired backups leave the blob store (their rows stay a while, so their ids answer "expired", not "unknown"). */
  private async expire(): Promise<void> {
    const weekAgo = new Date(Date.now() - 7 * 24 * 3600 * 1000).toISOString();
    for (const b of this.catalog.expired(new Date().toISOString())) {
      if (!this.purged.has(b.id)) {
        await this.blobs.delete(blobKey(b.id)).catch(() => {});
        this.purged.add(b.id);
      }
      if (b.expiresAt <= weekAgo) {
        this.catalog.delete(b.id);
        this.purged.delete(b.id);
      }
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
