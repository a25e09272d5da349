import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { progressCounter } from "./local.js";
import type { BlobStore, OnProgress } from "./store.js";

export interface S3Config {
  bucket: string;
  endpoint?: string;
  region: string;
  prefix: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

const missing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
};

/**
 * A blob store in any S3-compatible service. Path-style addressing, and
 * checksums only where the protocol requires them: several S3-compatible
 * servers store streamed uploads wrongly when the SDK adds its own.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = "s3" as const;
  private readonly client: S3Client;

  constructor(private readonly config: S3Config) {
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...(config.accessKeyId && config.secretAccessKey
        ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
        : {}),
    });
  }

  private key(key: string): string {
    return this.config.prefix + key;
  }

  async putFile(key: string, file: string, onProgress?: OnProgress): Promise<void> {
    const { size } = await stat(file);
    const body = createReadStream(file).pipe(progressCounter(size, onProgress));
    // One PUT, so the object appears whole or not at all (S3 caps a single PUT at 5 GiB).
    await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: this.key(key), Body: body, ContentLength: size }));
  }

  async getFile(key: string, file: string, onProgress?: OnProgress): Promise<boolean> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(key) }));
      await pipeline(r.Body as Readable, progressCounter(r.ContentLength, onProgress), createWriteStream(file));
      return true;
    } catch (err) {
      if (missing(err)) return false;
      throw err;
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const body = JSON.stringify(value);
    await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: this.key(key), Body: body, ContentType: "application/json" }));
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(key) }));
      return JSON.parse(await r.Body!.transformToString("utf8")) as T;
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.key(key) }));
      return true;
    } catch (err) {
      if (missing(err)) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.key(key) }));
  }
}
