/** Bytes moved so far, for progress displays. */
export type OnProgress = (bytes: number, totalBytes?: number) => void;

/**
 * Where archives live beyond one machine's data directory: snapshot layers
 * and backups. Keys are relative paths (`layers/sha256-….tar.zst`). Writes
 * are all-or-nothing: a reader never sees half an object.
 */
export interface BlobStore {
  readonly kind: "local" | "s3";
  /** Store a local file under `key`. */
  putFile(key: string, file: string, onProgress?: OnProgress): Promise<void>;
  /** Fetch `key` into a local file; false when there is no such key. */
  getFile(key: string, file: string, onProgress?: OnProgress): Promise<boolean>;
  putJson(key: string, value: unknown): Promise<void>;
  getJson<T>(key: string): Promise<T | undefined>;
  has(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
}
