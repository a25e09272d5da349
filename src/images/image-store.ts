import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BurrowError } from "../contract/index.js";
import { copyTree, normaliseTree, removeTree, unpackImage } from "../confine/index.js";

/** The packages of the default image, from Debian's own archive. */
export const DEFAULT_PACKAGES = [
  "ca-certificates", "git", "curl", "procps", "less", "nano", "python3", "python3-pip", "python3-venv",
  "python3-numpy", "python3-pandas", "python3-matplotlib", "python3-ipykernel", "build-essential",
];

export interface ImageMeta {
  name: string;
  source: string;
  createdAt: string;
  packages?: string[];
}

export type Progress = (line: string) => void;

/**
 * Read-only root filesystems shared by every sandbox and every server on the
 * machine (under the cache directory), already owned by the sandboxes' mapped
 * root. An image is ready once its meta.json exists; it is built beside its
 * final place and renamed there, so a crash never leaves half an image.
 */
export class ImageStore {
  constructor(private readonly cacheDir: string) {}

  private dir(name: string): string {
    return join(this.cacheDir, "images", name);
  }

  rootfs(name: string): string {
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name))
      throw new BurrowError("IMAGE_NOT_FOUND", `image name ${name} is not valid: use lowercase letters, digits, dots, dashes`);
    const dir = this.dir(name);
    if (!existsSync(join(dir, "meta.json")))
      throw new BurrowError("IMAGE_NOT_FOUND", `no image named ${name}; images here: ${this.list().map((i) => i.name).join(", ") || "none"}`);
    return join(dir, "rootfs");
  }

  has(name: string): boolean {
    return existsSync(join(this.dir(name), "meta.json"));
  }

  list(): ImageMeta[] {
    const root = join(this.cacheDir, "images");
    if (!existsSync(root)) return [];
    const out: ImageMeta[] = [];
    for (const name of imageNames(root)) {
      const meta = join(root, name, "meta.json");
      if (existsSync(meta)) out.push(JSON.parse(readFileSync(meta, "utf8")));
    }
    return out;
  }

  /** Build the default Debian image with mmdebstrap. */
  async buildDefault(progress: Progress = () => {}): Promise<void> {
    await this.build("default", progress, async (rootfs) => {
      await run(
        "mmdebstrap",
        ["--variant=minbase", `--include=${DEFAULT_PACKAGES.join(",")}`, "bookworm", rootfs,
          "deb http://deb.debian.org/debian bookworm main", "deb http://deb.debian.org/debian bookworm-updates main",
          "deb http://deb.debian.org/debian-security bookworm-security main"],
        progress,
      );
      return { source: "mmdebstrap bookworm minbase", packages: DEFAULT_PACKAGES };
    });
  }

  /**
   * Make an image from what is at `from` on the host: a root filesystem
   * directory (copied), or an image archive (`docker save` output or an OCI
   * layout, as a tar file or a directory: its layers are applied in order).
   */
  async import(name: string, from: string, progress: Progress = () => {}): Promise<void> {
    if (!existsSync(from)) throw new BurrowError("BAD_REQUEST", `${from} does not exist`);
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) throw new BurrowError("BAD_REQUEST", `image name ${name} is not valid: use lowercase letters, digits, dots, dashes`);
    if (this.has(name)) throw new BurrowError("BAD_REQUEST", `image ${name} already exists`);
    await this.build(name, progress, async (rootfs) => {
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
  }

  /** Remove an image (tests). Sandboxes standing on it would lose their lower layer. */
  remove(name: string): void {
    rmSync(this.dir(name), { recursive: true, force: true });
  }

  private async build(name: string, progress: Progress, fill: (rootfs: string) => Promise<Omit<ImageMeta, "name" | "createdAt">>): Promise<void> {
    const dir = this.dir(name);
    const lock = `${dir}.lock`;
    mkdirSync(join(this.cacheDir, "images"), { recursive: true, mode: 0o755 });
    // One builder per image across processes: mkdir is atomic.
    for (;;) {
      try {
        mkdirSync(lock);
        break;
      } catch {
        if (this.has(name)) return;
        progress(`waiting for another build of image ${name}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    try {
      if (this.has(name)) return;
      const tmp = `${dir}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true, mode: 0o755 });
      const rootfs = join(tmp, "rootfs");
      try {
        const meta = await fill(rootfs);
        progress("shifting file ownership for the sandbox user namespace");
        // Image files are root's inside; setuid stays (the image's own sudo), device nodes go (a sandbox's /dev is its own).
        const { files } = await normaliseTree(rootfs, { allowSetuid: true, devices: "drop" });
        progress(`  ${files} files`);
        writeFileSync(join(tmp, "meta.json"), JSON.stringify({ name, createdAt: new Date().toISOString(), ...meta }, null, 2));
      } catch (err) {
        await removeTree(tmp);
        throw err;
      }
      await removeTree(dir);
      renameSync(tmp, dir);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Whether a path is an image archive or layout rather than a plain root filesystem. */
function isImageArchive(path: string): boolean {
  return statSync(path).isFile() || existsSync(join(path, "manifest.json")) || existsSync(join(path, "index.json"));
}

function imageNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.includes(".tmp") && !n.endsWith(".lock"));
  } catch {
    return [];
  }
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
