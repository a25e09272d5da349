/**
 * The blob store: snapshot archives and backups. A local directory by
 * default, any S3-compatible service when configured.
 */
import { LocalBlobStore } from "./local.js";
import { S3BlobStore, type S3Config } from "./s3.js";
import type { BlobStore } from "./store.js";

export type { BlobStore, OnProgress } from "./store.js";
export { progressCounter } from "./local.js";

export type BlobConfig = { kind: "local"; dir: string } | ({ kind: "s3" } & S3Config);

export function openBlobStore(c: BlobConfig): BlobStore {
  return c.kind === "s3" ? new S3BlobStore(c) : new LocalBlobStore(c.dir);
}
