import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { BurrowError } from "../contract/index.js";
import { progressCounter, type OnProgress } from "../blobs/index.js";

/**
 * Write a layer as a zstd-compressed tar (owners, modes, xattrs and overlay
 * whiteouts kept) into `file`; returns its sha256 and size.
 */
export async function archiveLayer(layerDir: string, file: string, onProgress?: OnProgress): Promise<{ digest: string; sizeBytes: number }> {
  const tar = spawn("tar", ["--zstd", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-C", layerDir, "-cf", "-", "."], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  tar.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => tar.on("close", (code) => resolve(code ?? 1)));
  const hash = createHash("sha256");
  const counter = progressCounter(undefined, onProgress);
  counter.on("data", (c: Buffer) => hash.update(c));
  await pipeline(tar.stdout, counter, createWriteStream(file));
  if ((await exited) !== 0) throw new Error(`tar could not archive the layer: ${stderr.trim()}`);
  return { digest: hash.digest("hex"), sizeBytes: (await stat(file)).size };
}

/** The sha256 of a file, to check a downloaded archive before anything is unpacked. */
export async function fileDigest(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Unpack an archive into an empty directory; a truncated or corrupt archive is refused. */
export async function extractLayer(file: string, into: string): Promise<void> {
  const tar = spawn("tar", ["--zstd", "--xattrs", "--xattrs-include=*", "--numeric-owner", "--same-owner", "--same-permissions", "-C", into, "-xf", file], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  tar.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise<number>((resolve) => tar.on("close", (c) => resolve(c ?? 1)));
  if (code !== 0) throw new BurrowError("ARCHIVE_CORRUPT", `the snapshot archive could not be unpacked: ${stderr.trim().split("\n")[0]}`);
}

/** A scratch file path that is removed by `dispose`. */
export function scratchFile(dir: string, suffix: string): { path: string; dispose(): Promise<void> } {
  const path = join(dir, `${randomBytes(8).toString("hex")}${suffix}`);
  return { path, dispose: () => rm(path, { force: true }) };
}
