import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { promisify } from "node:util";
import { BurrowError } from "../contract/index.js";
import type { Progress } from "./image-store.js";

const pexec = promisify(execFile);

/** Whether a path is an image archive or layout rather than a plain root filesystem. */
export function isImageArchive(path: string): boolean {
  return statSync(path).isFile() || existsSync(join(path, "manifest.json")) || existsSync(join(path, "index.json"));
}

/**
 * The layers of an image, bottom first, from either form an image is handed
 * around in: a `docker save` archive (manifest.json) or an OCI image layout
 * (index.json + blobs/), each as a tar file or an unpacked directory.
 */
function layersOf(dir: string): string[] {
  if (existsSync(join(dir, "manifest.json"))) {
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { Layers: string[] }[];
    if (!manifest[0]?.Layers) throw new BurrowError("BAD_REQUEST", "manifest.json has no Layers: is this `docker save` output?");
    return manifest[0].Layers.map((l) => join(dir, l));
  }
  if (existsSync(join(dir, "index.json"))) {
    const blob = (digest: string) => join(dir, "blobs", ...digest.split(":"));
    let desc = (JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: { digest: string; mediaType?: string }[] }).manifests[0];
    if (!desc) throw new BurrowError("BAD_REQUEST", "index.json lists no manifests");
    let doc = JSON.parse(readFileSync(blob(desc.digest), "utf8"));
    // An index may point to another index (multi-platform): take the linux/amd64 entry, else the first.
    while (doc.manifests) {
      desc = doc.manifests.find((m: { platform?: { os: string; architecture: string } }) => m.platform?.os === "linux" && m.platform.architecture === "amd64") ?? doc.manifests[0];
      doc = JSON.parse(readFileSync(blob(desc!.digest), "utf8"));
    }
    return (doc.layers as { digest: string }[]).map((l) => blob(l.digest));
  }
  throw new BurrowError("BAD_REQUEST", "not an image archive: expected manifest.json (docker save) or index.json (OCI layout)");
}

/** Entry names of a layer tar (any compression tar can detect). */
async function entries(layer: string): Promise<string[]> {
  const { stdout } = await pexec("tar", ["-tf", layer], { maxBuffer: 512 * 1024 * 1024 });
  return stdout.split("\n").filter(Boolean).map((e) => normalize(e).replace(/^(\.\/)+/, "").replace(/^\/+/, ""));
}

/** Remove a path inside rootfs without ever following it outside. */
async function removeInside(rootfs: string, rel: string): Promise<void> {
  const target = normalize(join(rootfs, rel));
  if (!target.startsWith(rootfs + "/")) return;
  await rm(target, { recursive: true, force: true });
}

/**
 * Unpack an image archive into `rootfs`, applying layers in order with the OCI
 * whiteout rules: `.wh.NAME` deletes NAME from lower layers, and
 * `.wh..wh..opq` empties its directory before the layer's own files land.
 */
export async function unpackImageArchive(archive: string, rootfs: string, progress: Progress): Promise<void> {
  let dir = archive;
  let scratch: string | undefined;
  if (statSync(archive).isFile()) {
    scratch = mkdtempSync(join(tmpdir(), "burrow-image-"));
    progress(`reading ${archive}`);
    await pexec("tar", ["-xf", archive, "-C", scratch]);
    dir = scratch;
  }
  try {
    const layers = layersOf(dir);
    await pexec("mkdir", ["-p", rootfs]);
    for (const [i, layer] of layers.entries()) {
      progress(`layer ${i + 1}/${layers.length}`);
      const names = await entries(layer);
      for (const name of names) {
        const base = name.split("/").pop()!;
        if (base === ".wh..wh..opq") {
          const d = join(rootfs, dirname(name));
          if (existsSync(d)) for (const child of readdirSync(d)) await removeInside(rootfs, join(dirname(name), child));
        } else if (base.startsWith(".wh.")) {
          await removeInside(rootfs, join(dirname(name), base.slice(4)));
        }
      }
      await pexec("tar", ["-xf", layer, "-C", rootfs, "--exclude=.wh.*", "--exclude=*/.wh.*", "--same-owner", "--numeric-owner", "--same-permissions"], {
        maxBuffer: 64 * 1024 * 1024,
      });
    }
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
