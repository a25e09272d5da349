import { spawn, execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BurrowError } from "../contract/index.js";
import { copyTree, normaliseTree, removeTree, unpackImage } from "../confine/index.js";
import { DEFAULT_MIRRORS, DEFAULT_PACKAGES, DEFAULT_SOURCE, DEFAULT_SUITE, DEFAULT_VARIANT, defaultRecipe, recipeKey } from "./recipe.js";
import { BuildLock } from "./build-lock.js";
import { speedUpLoginShells } from "./login-shell.js";
import { accountHooks } from "./accounts.js";

export interface ImageMeta {
  name: string;
  /** The version's id: 12 hex digits, or "legacy" for an image made before versions existed. */
  version: string;
  source: string;
  createdAt: string;
  packages?: string[];
  /** The default image's recipe key (see recipe.ts); the same recipe rebuilt has the same key. */
  recipe?: string;
  sizeBytes?: number;
}

export interface ImageVersion extends ImageMeta {
  /** Whether new sandboxes of this name get this version. */
  current: boolean;
}

export type Progress = (line: string) => void;

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const VERSION = /^(?:[a-f0-9]{12}|legacy)$/;
/** Images made before versions kept one rootfs right under the name: that tree is the version "legacy". */
export const LEGACY = "legacy";

/**
 * Read-only root filesystems shared by every sandbox and every server on the
 * machine (under the cache directory), already owned by the sandboxes' mapped
 * root. Each image name has immutable versions, `images/<name>/<version>/`
 * (`rootfs/` and `meta.json`), and a `current` file naming the one new
 * sandboxes get. A version is built beside the others and renamed into place
 * once finished; the name moves to it by an atomic rename of `current`. A
 * version is never changed after that, and is removed only by `prune`, when
 * nothing stands on it (see usage.ts).
 */
export class ImageStore {
  constructor(private readonly cacheDir: string) {}

  private get root(): string {
    return join(this.cacheDir, "images");
  }

  private nameDir(name: string): string {
    return join(this.root, name);
  }

  private versionDir(name: string, version: string): string {
    return version === LEGACY ? this.nameDir(name) : join(this.nameDir(name), version);
  }

  private finished(name: string, version: string): boolean {
    return VERSION.test(version) && existsSync(join(this.versionDir(name, version), "meta.json"));
  }

  /** The version new sandboxes of `name` get, or undefined when there is none. */
  current(name: string): string | undefined {
    if (!NAME.test(name)) return undefined;
    try {
      const v = readFileSync(join(this.nameDir(name), "current"), "utf8").trim();
      if (this.finished(name, v)) return v;
    } catch {
      /* no pointer yet: an image from before versions, or none */
    }
    return this.finished(name, LEGACY) ? LEGACY : undefined;
  }

  /** The version to stand a new sandbox on: `wanted` when this machine still has it, else the current one. */
  resolveVersion(name: string, wanted?: string): string {
    this.checkName(name);
    if (wanted && this.finished(name, wanted)) return wanted;
    const v = this.current(name);
    if (!v) throw this.notFound(name);
    return v;
  }

  /** The root filesystem of one version (the current one when none is given). */
  rootfs(name: string, version?: string): string {
    this.checkName(name);
    const v = version ?? this.current(name);
    if (!v) throw this.notFound(name);
    if (!this.finished(name, v))
      throw new BurrowError("IMAGE_NOT_FOUND", `version ${v} of image ${name} is not on this machine (it was pruned, or built elsewhere); recreate the sandbox, or move it with PUT {imageVersion: "latest"}`);
    return join(this.versionDir(name, v), "rootfs");
  }

  has(name: string): boolean {
    return this.current(name) !== undefined;
  }

  /** The current version of every image. */
  list(): ImageMeta[] {
    return this.names().flatMap((n) => {
      const v = this.current(n);
      return v ? [this.meta(n, v)] : [];
    });
  }

  /** Every finished version of every image (or of one), newest first within a name. */
  versions(name?: string): ImageVersion[] {
    const out: ImageVersion[] = [];
    for (const n of name ? [name] : this.names()) {
      const cur = this.current(n);
      const vs = this.versionIds(n).map((v) => ({ ...this.meta(n, v), current: v === cur }));
      out.push(...vs.sort((a, b) => b.createdAt.localeCompare(a.createdAt)));
    }
    return out;
  }

  meta(name: string, version: string): ImageMeta {
    const m = JSON.parse(readFileSync(join(this.versionDir(name, version), "meta.json"), "utf8")) as Partial<ImageMeta>;
    return { ...m, name, version, recipe: m.recipe ?? legacyRecipe(m) } as ImageMeta;
  }

  /**
   * Make sure the default image matches Burrow's recipe (recipe.ts): keep the
   * current version when it does, move the name back to a version that does,
   * or build one beside the others. `rebuild` builds a fresh version of the
   * same recipe (newer Debian packages) under a new id.
   */
  async ensureDefault(progress: Progress = () => {}, opts: { rebuild?: boolean; packages?: readonly string[] } = {}): Promise<string> {
    const recipe = defaultRecipe(opts.packages ?? DEFAULT_PACKAGES);
    const key = recipeKey(recipe);
    if (!opts.rebuild) {
      const cur = this.current("default");
      if (cur && this.meta("default", cur).recipe === key) return cur;
      const match = this.versions("default").find((v) => v.recipe === key);
      if (match) {
        this.setCurrent("default", match.version);
        return match.version;
      }
    }
    const version = opts.rebuild ? createHash("sha256").update(`${key} ${Date.now()} ${randomBytes(8).toString("hex")}`).digest("hex").slice(0, 12) : key;
    await this.build("default", version, progress, async (rootfs) => {
      await run(
        "mmdebstrap",
        [`--variant=${DEFAULT_VARIANT}`, `--include=${recipe.packages.join(",")}`, ...accountHooks(), DEFAULT_SUITE, rootfs, ...DEFAULT_MIRRORS],
        progress,
      );
      const tuned = speedUpLoginShells(rootfs);
      if (tuned.length) progress(`  login shells start no programs of their own: ${tuned.join(", ")}`);
      return { source: DEFAULT_SOURCE, packages: recipe.packages, recipe: key };
    });
    this.setCurrent("default", version);
    return version;
  }

  /** Build the default image if it does not match the recipe (kept for callers of the unversioned API). */
  async buildDefault(progress: Progress = () => {}): Promise<void> {
    await this.ensureDefault(progress);
  }

  /**
   * Make a new version of an image from what is at `from` on the host: a root
   * filesystem directory (copied), or an image archive (`docker save` output
   * or an OCI layout, as a tar file or a directory: its layers are applied in
   * order). The name then points at it; sandboxes on older versions keep them.
   * An archive's version is named by its content, so importing the same file
   * again only points the name back at it.
   */
  async import(name: string, from: string, progress: Progress = () => {}): Promise<string> {
    if (!existsSync(from)) throw new BurrowError("BAD_REQUEST", `${from} does not exist`);
    if (!NAME.test(name)) throw new BurrowError("BAD_REQUEST", `image name ${name} is not valid: use lowercase letters, digits, dots, dashes`);
    const version = await contentVersion(from);
    if (!this.finished(name, version))
      await this.build(name, version, progress, async (rootfs) => {
        if (isImageArchive(from)) {
          progress(`unpacking ${from}`);
          const { layers } = await unpackImage(from, rootfs);
          progress(`  ${layers} layers`);
          return { source: `image archive ${from}` };
        }
        progress(`copying ${from}`);
        mkdirSync(rootfs);
        await copyTree(from, rootfs);
        return { source: `rootfs ${from}` };
      });
    this.setCurrent(name, version);
    return version;
  }

  /**
   * Remove versions nothing stands on: not current, and not in `inUse`
   * (`name/version` keys from every server's usage file). Returns what went.
   */
  async prune(inUse: Set<string>, name?: string, progress: Progress = () => {}): Promise<ImageVersion[]> {
    const gone: ImageVersion[] = [];
    for (const n of name ? [name] : this.names()) {
      // Under the build lock: a build or import must not move the name onto a version while it goes.
      await BuildLock.with(join(this.root, `${n}.lock`), progress, async () => {
        for (const v of this.versions(n)) {
          if (v.current || inUse.has(`${n}/${v.version}`)) continue;
          progress(`removing ${n} version ${v.version}`);
          await this.removeVersion(n, v.version);
          gone.push(v);
        }
      });
    }
    return gone;
  }

  /** Remove an image with all its versions (tests). Sandboxes standing on it would lose their lower layer. */
  remove(name: string): void {
    if (!NAME.test(name)) return;
    rmSync(this.nameDir(name), { recursive: true, force: true });
  }

  private async removeVersion(name: string, version: string): Promise<void> {
    const dir = this.versionDir(name, version);
    // meta.json goes first: from then on the version is not "finished" for anyone.
    unlinkSync(join(dir, "meta.json"));
    if (version === LEGACY) return removeTree(join(dir, "rootfs"));
    const doomed = `${dir}.tmp-prune-${process.pid}`;
    renameSync(dir, doomed);
    await removeTree(doomed);
  }

  private setCurrent(name: string, version: string): void {
    const tmp = join(this.nameDir(name), `current.tmp-${process.pid}`);
    writeFileSync(tmp, `${version}\n`);
    renameSync(tmp, join(this.nameDir(name), "current"));
  }

  private async build(name: string, version: string, progress: Progress, fill: (rootfs: string) => Promise<Omit<ImageMeta, "name" | "version" | "createdAt">>): Promise<void> {
    mkdirSync(this.nameDir(name), { recursive: true, mode: 0o755 });
    await BuildLock.with(join(this.root, `${name}.lock`), progress, async () => {
      if (this.finished(name, version)) return;
      // Only the lock holder builds: half-built versions left here are from builders that died.
      for (const e of readdirSync(this.nameDir(name))) if (e.includes(".tmp-")) await removeTree(join(this.nameDir(name), e));
      const tmp = join(this.nameDir(name), `${version}.tmp-${process.pid}`);
      mkdirSync(tmp, { mode: 0o755 });
      const rootfs = join(tmp, "rootfs");
      try {
        const meta = await fill(rootfs);
        progress("shifting file ownership for the sandbox user namespace");
        // Image files are root's inside; setuid stays (the image's own sudo), device nodes go (a sandbox's /dev is its own).
        const { files } = await normaliseTree(rootfs, { allowSetuid: true, devices: "drop" });
        progress(`  ${files} files`);
        const sizeBytes = await duBytes(rootfs);
        writeFileSync(join(tmp, "meta.json"), JSON.stringify({ name, version, createdAt: new Date().toISOString(), ...meta, sizeBytes }, null, 2));
      } catch (err) {
        await removeTree(tmp);
        // A name whose first version failed leaves nothing behind (rmdir only removes it empty).
        try {
          rmdirSync(this.nameDir(name));
        } catch {
          /* other versions are there */
        }
        throw err;
      }
      renameSync(tmp, this.versionDir(name, version));
    });
  }

  private names(): string[] {
    try {
      return readdirSync(this.root).filter((n) => NAME.test(n) && !n.includes(".tmp") && !n.endsWith(".lock"));
    } catch {
      return [];
    }
  }

  private versionIds(name: string): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.nameDir(name));
    } catch {
      return [];
    }
    const ids = entries.filter((e) => /^[a-f0-9]{12}$/.test(e) && this.finished(name, e));
    return this.finished(name, LEGACY) ? [...ids, LEGACY] : ids;
  }

  private checkName(name: string): void {
    if (!NAME.test(name)) throw new BurrowError("IMAGE_NOT_FOUND", `image name ${name} is not valid: use lowercase letters, digits, dots, dashes`);
  }

  private notFound(name: string): BurrowError {
    return new BurrowError("IMAGE_NOT_FOUND", `no image named ${name}; images here: ${this.list().map((i) => i.name).join(", ") || "none"}`);
  }
}

/** A default image from before versions has no recipe key in its meta: derive it from what it lists. */
function legacyRecipe(m: Partial<ImageMeta>): string | undefined {
  return m.source === DEFAULT_SOURCE && m.packages ? recipeKey(defaultRecipe(m.packages)) : undefined;
}

/**
 * A version id for what is imported: an archive file is named by its bytes,
 * a layout by its index (which names every layer by digest), a plain
 * directory by nothing it holds (a fresh id each time).
 */
async function contentVersion(from: string): Promise<string> {
  const hash = createHash("sha256");
  if (statSync(from).isFile()) {
    for await (const chunk of createReadStream(from)) hash.update(chunk as Buffer);
  } else {
    const index = ["index.json", "manifest.json"].map((f) => join(from, f)).find((f) => existsSync(f));
    hash.update(index ? readFileSync(index) : randomBytes(16));
  }
  return hash.digest("hex").slice(0, 12);
}

/** Whether a path is an image archive or layout rather than a plain root filesystem. */
function isImageArchive(path: string): boolean {
  return statSync(path).isFile() || existsSync(join(path, "manifest.json")) || existsSync(join(path, "index.json"));
}

/** Bytes under a tree the builder just made (du never follows links). */
function duBytes(dir: string): Promise<number> {
  return new Promise((resolve) => execFile("du", ["-sb", "--one-file-system", dir], (err, out) => resolve(err ? 0 : Number(out.split("\t")[0]) || 0)));
}

function run(cmd: string, args: string[], progress: Progress): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    const onData = (d: Buffer) => {
      for (const line of d.toString().split("\n")) {
        if (line.trim()) {
          progress(line.trim());
          tail = (tail + line + "\n").slice(-4000);
        }
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}:\n${tail}`))));
  });
}
