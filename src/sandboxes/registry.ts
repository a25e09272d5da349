import Database from "better-sqlite3";
import { chmodSync, existsSync } from "node:fs";
import type { EgressSettings, Limits } from "../contract/index.js";
import type { CertInfo } from "../lib/pem.js";
import { SANDBOX_ID_OFFSET } from "../confine/index.js";

/** One sandbox as the registry keeps it. */
export interface SandboxRecord {
  id: string;
  image: string;
  /** The version of the image it stands on, pinned at creation (images/image-store.ts). */
  imageVersion: string;
  env: Record<string, string>;
  sleepAfter: number;
  keepAlive: boolean;
  limits: Required<Pick<Limits, "memoryMB" | "cpus" | "pids">> & Pick<Limits, "diskMB">;
  labels: Record<string, string>;
  createdAt: string;
  lastActiveAt: string;
  /** Snapshot layers under the sandbox's own upper layer, top first. */
  layers: string[];
  /** What sleeping keeps: the disk as is, or frozen into a snapshot. */
  persist: "disk" | "snapshot";
  /** Its own egress rules (server defaults apply under them). */
  egress: EgressSettings;
  /** Its own extra CAs as its runtime last reported them (the PEM itself is on its disk). */
  trust?: { extraCaCerts: CertInfo[] };
  /** The first host uid/gid of its own range (uid-ranges.ts); unset until its first start; the canonical range for sandboxes older than ranges. */
  uidBase?: number;
}

interface Row {
  id: string;
  image: string;
  image_version: string;
  env: string;
  sleep_after: number;
  keep_alive: number;
  limits: string;
  labels: string;
  created_at: string;
  last_active_at: string;
  layers: string;
  persist: string;
  egress: string;
  trust: string;
  uid_base: number | null;
}

const fromRow = (r: Row): SandboxRecord => ({
  id: r.id,
  image: r.image,
  imageVersion: r.image_version,
  env: JSON.parse(r.env),
  sleepAfter: r.sleep_after,
  keepAlive: r.keep_alive === 1,
  limits: JSON.parse(r.limits),
  labels: JSON.parse(r.labels),
  createdAt: r.created_at,
  lastActiveAt: r.last_active_at,
  layers: JSON.parse(r.layers),
  persist: r.persist as SandboxRecord["persist"],
  egress: JSON.parse(r.egress),
  trust: JSON.parse(r.trust),
  // Sandboxes from before per-sandbox ranges wrote their upper layers in the canonical one.
  uidBase: r.uid_base ?? SANDBOX_ID_OFFSET,
});

/** A port published through a preview URL; the token is what makes the URL unguessable. */
export interface ExposedPort {
  sandboxId: string;
  port: number;
  token: string;
  name?: string;
  createdAt: string;
}

interface PortRow {
  sandbox_id: string;
  port: number;
  token: string;
  name: string | null;
  created_at: string;
}

const portFromRow = (r: PortRow): ExposedPort => ({
  sandboxId: r.sandbox_id,
  port: r.port,
  token: r.token,
  ...(r.name ? { name: r.name } : {}),
  createdAt: r.created_at,
});

/** The durable list of sandboxes: SQLite in WAL mode, one row per name. */
export class Registry {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(
    file: string,
    /** Called after a sandbox row is written or removed (the image versions in use may have changed). */
    private readonly onChange: () => void = () => {},
  ) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    // Sandboxes' env may hold secrets: only root reads the registry.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    this.db.exec(`CREATE TABLE IF NOT EXISTS sandboxes (
      id TEXT PRIMARY KEY,
      image TEXT NOT NULL,
      env TEXT NOT NULL,
      sleep_after INTEGER NOT NULL,
      keep_alive INTEGER NOT NULL,
      limits TEXT NOT NULL,
      labels TEXT NOT NULL,
      created_at TEXT NOT NULL,
      last_active_at TEXT NOT NULL
    )`);
    // Columns added after the first release: older databases get them with their defaults.
    const columns = new Set((this.db.prepare("PRAGMA table_info(sandboxes)").all() as { name: string }[]).map((c) => c.name));
    if (!columns.has("layers")) this.db.exec("ALTER TABLE sandboxes ADD COLUMN layers TEXT NOT NULL DEFAULT '[]'");
    if (!columns.has("persist")) this.db.exec("ALTER TABLE sandboxes ADD COLUMN persist TEXT NOT NULL DEFAULT 'disk'");
    if (!columns.has("egress")) this.db.exec("ALTER TABLE sandboxes ADD COLUMN egress TEXT NOT NULL DEFAULT '{}'");
    if (!columns.has("trust")) this.db.exec(`ALTER TABLE sandboxes ADD COLUMN trust TEXT NOT NULL DEFAULT '{"extraCaCerts":[]}'`);
    // Sandboxes from before image versions stand on the one unversioned tree their image had.
    if (!columns.has("image_version")) this.db.exec("ALTER TABLE sandboxes ADD COLUMN image_version TEXT NOT NULL DEFAULT 'legacy'");
    if (!columns.has("uid_base")) this.db.exec("ALTER TABLE sandboxes ADD COLUMN uid_base INTEGER");
    this.db.exec(`CREATE TABLE IF NOT EXISTS ports (
      sandbox_id TEXT NOT NULL,
      port INTEGER NOT NULL,
      token TEXT NOT NULL,
      name TEXT,
      created_at TEXT NOT NULL,
      PRIMARY KEY (sandbox_id, port)
    )`);
    this.stmts = {
      get: this.db.prepare<[string], Row>("SELECT * FROM sandboxes WHERE id = ?"),
      all: this.db.prepare<[], Row>("SELECT * FROM sandboxes ORDER BY created_at, id"),
      put: this.db.prepare(`INSERT INTO sandboxes (id, image, image_version, env, sleep_after, keep_alive, limits, labels, created_at, last_active_at, layers, persist, egress, trust, uid_base)
        VALUES (@id, @image, @image_version, @env, @sleep_after, @keep_alive, @limits, @labels, @created_at, @last_active_at, @layers, @persist, @egress, @trust, @uid_base)
        ON CONFLICT(id) DO UPDATE SET image=@image, image_version=@image_version, env=@env, sleep_after=@sleep_after, keep_alive=@keep_alive,
          limits=@limits, labels=@labels, last_active_at=@last_active_at, layers=@layers, persist=@persist, egress=@egress, trust=@trust, uid_base=@uid_base`),
      touch: this.db.prepare<[string, string]>("UPDATE sandboxes SET last_active_at = ? WHERE id = ?"),
      del: this.db.prepare<[string]>("DELETE FROM sandboxes WHERE id = ?"),
      portsOf: this.db.prepare<[string], PortRow>("SELECT * FROM ports WHERE sandbox_id = ? ORDER BY port"),
      port: this.db.prepare<[string, number], PortRow>("SELECT * FROM ports WHERE sandbox_id = ? AND port = ?"),
      putPort: this.db.prepare("INSERT OR REPLACE INTO ports (sandbox_id, port, token, name, created_at) VALUES (@sandbox_id, @port, @token, @name, @created_at)"),
      delPort: this.db.prepare<[string, number]>("DELETE FROM ports WHERE sandbox_id = ? AND port = ?"),
      delPorts: this.db.prepare<[string]>("DELETE FROM ports WHERE sandbox_id = ?"),
    };
  }

  get(id: string): SandboxRecord | undefined {
    const r = this.stmts.get.get(id);
    return r ? fromRow(r) : undefined;
  }

  all(): SandboxRecord[] {
    return this.stmts.all.all().map(fromRow);
  }

  put(s: SandboxRecord): void {
    this.stmts.put.run({
      id: s.id,
      image: s.image,
      image_version: s.imageVersion,
      env: JSON.stringify(s.env),
      sleep_after: s.sleepAfter,
      keep_alive: s.keepAlive ? 1 : 0,
      limits: JSON.stringify(s.limits),
      labels: JSON.stringify(s.labels),
      created_at: s.createdAt,
      last_active_at: s.lastActiveAt,
      layers: JSON.stringify(s.layers),
      persist: s.persist,
      egress: JSON.stringify(s.egress),
      trust: JSON.stringify(s.trust ?? { extraCaCerts: [] }),
      uid_base: s.uidBase ?? null,
    });
    this.onChange();
  }

  touch(id: string, at: string): void {
    this.stmts.touch.run(at, id);
  }

  /** Remove a sandbox and everything recorded for it. */
  delete(id: string): void {
    this.db.transaction(() => {
      this.stmts.del.run(id);
      this.stmts.delPorts.run(id);
    })();
    this.onChange();
  }

  ports(sandboxId: string): ExposedPort[] {
    return this.stmts.portsOf.all(sandboxId).map(portFromRow);
  }

  port(sandboxId: string, port: number): ExposedPort | undefined {
    const r = this.stmts.port.get(sandboxId, port);
    return r ? portFromRow(r) : undefined;
  }

  putPort(p: ExposedPort): void {
    this.stmts.putPort.run({ sandbox_id: p.sandboxId, port: p.port, token: p.token, name: p.name ?? null, created_at: p.createdAt });
  }

  deletePort(sandboxId: string, port: number): boolean {
    return this.stmts.delPort.run(sandboxId, port).changes > 0;
  }

  close(): void {
    this.db.close();
  }
}
