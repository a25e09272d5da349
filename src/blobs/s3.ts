import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
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
 * servers store streamed uploads wrongly when the SDK adds its own. The AWS
 * SDK is loaded on the first call: ~90 ms of modules a server start without
 * an S3 store would otherwise pay too.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = "s3" as const;
  private sdk: Promise<{ client: S3Client; aws: typeof import("@aws-sdk/client-s3") }> | undefined;

  constructor(private readonly config: S3Config) {}

  private connect() {
    return (this.sdk ??= import("@aws-sdk/client-s3").then((aws) => ({ aws, client: this.newClient(aws) })));
  }

  private newClient(aws: typeof import("@aws-sdk/client-s3")): S3Client {
    const config = this.config;
    return new aws.S3Client({
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
    const { client, aws } = await this.connect();
    const { size } = await stat(file);
    const body = createReadStream(file).pipe(progressCounter(size, onProgress));
    // One PUT, so the object appears whole or not at all (S3 caps a single PUT at 5 GiB).
    await client.send(new aws.PutObjectCommand({ Bucket: this.config.bucket, Key: this.key(key), Body: body, ContentLength: size }));
  }

  async getFile(key: string, file: string, onProgress?: OnProgress): Promise<boolean> {
    const { client, aws } = await this.connect();
    try {
      const r = await client.send(new aws.GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(key) }));
      await pipeline(r.Body as Readable, progressCounter(r.ContentLength, onProgress), createWriteStream(file));
      return true;
    } catch (err) {
      if (missing(err)) return false;
      throw err;
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const { client, aws } = await this.connect();
    const body = JSON.stringify(value);
    await client.send(new aws.PutObjectCommand({ Bucket: this.config.bucket, Key: this.key(key), Body: body, ContentType: "application/json" }));
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const { client, aws } = await this.connect();
    try {
      const r = await client.send(new aws.GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(key) }));
      return JSON.parse(await r.Body!.transformToString("utf8")) as T;
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  async has(key: string): Promise<boolean> {
    const { client, aws } = await this.connect();
    try {
      await client.send(new aws.HeadObjectCommand({ Bucket: this.config.bucket, Key: this.key(key) }));
      return true;
    } catch (err) {
      if (missing(err)) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const { client, aws } = await this.connect();
    await client.send(new aws.DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.key(key) }));
  }
}
