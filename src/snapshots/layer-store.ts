import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { extract } from "tar-stream";

const pexec = promisify(execFile);

/**
 * Snapshot layers on disk: `<dir>/<id>` is an overlay lower layer, never
 * written after it is complete. New layers are built under `.tmp-*` and
 * renamed into place, so a crash never leaves a half layer under a real id.
 */
export class LayerStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
  }

  path(id: string): string {
    return join(this.dir, id);
  }

  has(id: string): boolean {
    return existsSync(this.path(id));
  }

  /** Remove layers that a crash left half-built. */
  cleanTemporary(): void {
    for (const name of readdirSync(this.dir)) if (name.startsWith(".tmp-")) rmSync(join(this.dir, name), { recursive: true, force: true });
  }

  /** A fresh directory to build a layer in; `commit` moves it under its id. */
  staging(id: string): { dir: string; commit(): void; abort(): void } {
    const dir = join(this.dir, `.tmp-${id}-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o755 });
    return {
      dir,
      commit: () => renameSync(dir, this.path(id)),
      abort: () => rmSync(dir, { recursive: true, force: true }),
    };
  }

  /** Take a directory over as a layer by renaming it (no bytes copied). */
  adopt(id: string, from: string): void {
    renameSync(from, this.path(id));
  }

  remove(id: string): void {
    rmSync(this.path(id), { recursive: true, force: true });
  }
}

/** Copy a tree with owners, modes, times, xattrs, devices (whiteouts) and hard links kept. */
export async function copyTree(from: string, to: string): Promise<void> {
  await pexec("cp", ["-a", "--reflink=auto", "--remove-destination", `${from}/.`, to], { maxBuffer: 16 * 1024 * 1024 });
}

/**
 * Merge overlay layers (bottom first) into one directory, as overlayfs would
 * see them stacked, but keeping the whiteouts and opaque markers that hide
 * files of the image below.
 */
export async function mergeLayers(bottomFirst: string[], into: string): Promise<void> {
  for (const [i, layer] of bottomFirst.entries()) {
    if (i > 0) {
      // What this layer hides must go before its own entries land on top.
      const { whiteouts, opaque } = await overlayMarkers(layer);
      for (const rel of [...opaque, ...whiteouts]) if (rel !== "") rmSync(join(into, rel), { recursive: true, force: true });
    }
    await copyTree(layer, into);
  }
}

/** Whiteouts (0/0 character devices) and opaque directories in one upper layer, as relative paths. */
export function overlayMarkers(layer: string): Promise<{ whiteouts: string[]; opaque: string[] }> {
  return new Promise((resolve, reject) => {
    const whiteouts: string[] = [];
    const opaque: string[] = [];
    const tar = spawn("tar", ["--xattrs", "--xattrs-include=trusted.overlay.*", "-C", layer, "-cf", "-", "."], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    tar.stderr.on("data", (d) => (stderr += d));
    const ex = extract();
    ex.on("entry", (header, stream, next) => {
      const rel = header.name.replace(/^\.\/?/, "").replace(/\/$/, "");
      if (header.type === "character-device" && header.devmajor === 0 && header.devminor === 0) whiteouts.push(rel);
      if (header.type === "directory" && (header.pax as Record<string, string> | undefined)?.["SCHILY.xattr.trusted.overlay.opaque"] === "y") opaque.push(rel);
      stream.on("end", next);
      stream.resume();
    });
    ex.on("finish", () => resolve({ whiteouts, opaque }));
    ex.on("error", reject);
    tar.on("exit", (code) => code !== 0 && reject(new Error(`tar could not read ${layer}: ${stderr.trim()}`)));
    tar.stdout.pipe(ex);
  });
}
