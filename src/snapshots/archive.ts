import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { progressCounter, type OnProgress } from "../blobs/index.js";

/**
 * Write a layer as a zstd-compressed tar (owners, modes, xattrs and overlay
 * whiteouts kept) into `file`; returns its sha256 and size.
 */
export async function archiveLayer(layerDir: string, file: string, onProgress?: OnProgress): Promise<{ digest: string; sizeBytes: number }> {
  // --sparse: a file full of holes costs its data, not its apparent size. tar never follows links here.
  const tar = spawn("tar", ["--zstd", "--sparse", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-C", layerDir, "-cf", "-", "."], { stdio: ["ignore", "pipe", "pipe"] });
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

/** A scratch file path that is removed by `dispose`. */
export function scratchFile(dir: string, suffix: string): { path: string; dispose(): Promise<void> } {
  const path = join(dir, `${randomBytes(8).toString("hex")}${suffix}`);
  return { path, dispose: () => rm(path, { force: true }) };
}
