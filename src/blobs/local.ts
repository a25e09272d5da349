import { createReadStream, createWriteStream, existsSync, mkdirSync } from "node:fs";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import type { BlobStore, OnProgress } from "./store.js";

/** Counts bytes through a stream, reporting every 4 MiB or so. */
export function progressCounter(total: number | undefined, onProgress?: OnProgress): Transform {
  let bytes = 0;
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (onProgress && bytes - last >= 4 << 20) {
        last = bytes;
        onProgress(bytes, total);
      }
      cb(null, chunk);
    },
    flush(cb) {
      onProgress?.(bytes, total);
      cb();
    },
  });
}

/** A blob store in a local directory (the default): files written aside and renamed in. */
export class LocalBlobStore implements BlobStore {
  readonly kind = "local" as const;

  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private path(key: string): string {
    const p = normalize(join(this.root, key));
    if (!p.startsWith(this.root + "/")) throw new Error(`blob key ${key} leaves the store`);
    return p;
  }

  async putFile(key: string, file: string, onProgress?: OnProgress): Promise<void> {
    const to = this.path(key);
    mkdirSync(dirname(to), { recursive: true });
    const tmp = `${to}.part-${process.pid}`;
    const { size } = await stat(file);
    try {
      await pipeline(createReadStream(file), progressCounter(size, onProgress), createWriteStream(tmp));
      await rename(tmp, to);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async getFile(key: string, file: string, onProgress?: OnProgress): Promise<boolean> {
    const from = this.path(key);
    if (!existsSync(from)) return false;
    const { size } = await stat(from);
    await pipeline(createReadStream(from), progressCounter(size, onProgress), createWriteStream(file));
    return true;
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const to = this.path(key);
    mkdirSync(dirname(to), { recursive: true });
    await writeFile(`${to}.part`, JSON.stringify(value));
    await rename(`${to}.part`, to);
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const text = await readFile(this.path(key), "utf8").catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async has(key: string): Promise<boolean> {
    return existsSync(this.path(key));
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
