import { lstatSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { mergeLayers, run } from "./merge.js";
import { removeAny } from "./paths.js";

export interface ImageJob {
  /** The archive in the jail: a tar file, or a directory (docker save or OCI layout, unpacked). */
  src: string;
  /** The image's root filesystem, empty. */
  into: string;
  /** Scratch space on the same filesystem as `into`. */
  work: string;
}

/**
 * A reference inside an image archive (`Layers` entries, blob digests) must
 * name a regular file inside the archive: relative, no `..`, no link on the way.
 */
function fileInside(root: string, ref: unknown, what: string): string {
  if (typeof ref !== "string" || !/^[A-Za-z0-9._:/+-]{1,512}$/.test(ref) || ref.startsWith("/") || ref.split("/").some((c) => c === ".." || c === ""))
    throw new Error(`the image archive's ${what} ${JSON.stringify(ref)} does not name a file inside the archive`);
  let p = root;
  const parts = ref.split("/");
  for (const [i, part] of parts.entries()) {
    p = `${p}/${part}`;
    let st;
    try {
      st = lstatSync(p);
    } catch {
      throw new Error(`the image archive's ${what} ${ref} is not in the archive`);
    }
    if (i < parts.length - 1 ? !st.isDirectory() : !st.isFile()) throw new Error(`the image archive's ${what} ${ref} is not a plain file inside the archive`);
  }
  return p;
}

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));

/** The layer files of an image, bottom first, from docker-save's manifest.json or an OCI layout's index.json. */
function layersOf(dir: string): string[] {
  const has = (n: string) => readdirSync(dir).includes(n);
  if (has("manifest.json")) {
    const manifest = readJson(fileInside(dir, "manifest.json", "manifest"));
    const layers = manifest?.[0]?.Layers;
    if (!Array.isArray(layers)) throw new Error("manifest.json has no Layers: is this `docker save` output?");
    return layers.map((l: unknown) => fileInside(dir, l, "layer"));
  }
  if (has("index.json")) {
    const blob = (digest: unknown) => {
      if (typeof digest !== "string" || !/^[a-z0-9]+:[a-f0-9]{32,128}$/.test(digest)) throw new Error(`the image archive names a blob ${JSON.stringify(digest)} that is not a digest`);
      return fileInside(dir, `blobs/${digest.replace(":", "/")}`, "blob");
    };
    let doc = readJson(fileInside(dir, "index.json", "index"));
    for (let depth = 0; doc?.manifests; depth++) {
      if (depth > 4) throw new Error("the image archive's index nests too deep");
      const m = doc.manifests as { digest: string; platform?: { os: string; architecture: string } }[];
      const desc = m.find((d) => d.platform?.os === "linux" && d.platform.architecture === "amd64") ?? m[0];
      if (!desc) throw new Error("index.json lists no manifests");
      doc = readJson(blob(desc.digest));
    }
    if (!Array.isArray(doc?.layers)) throw new Error("the image manifest lists no layers");
    return (doc.layers as { digest: string }[]).map((l) => blob(l.digest));
  }
  throw new Error("not an image archive: expected manifest.json (docker save) or index.json (OCI layout)");
}

/** Unpack an image archive into a root filesystem, every layer confined to the jail, whiteouts applied without following links. */
export function unpackImage(job: ImageJob): { layers: number } {
  let dir = job.src;
  if (lstatSync(job.src).isFile()) {
    dir = `${job.work}/archive`;
    mkdirSync(dir);
    run("tar", ["-xf", job.src, "-C", dir, "--no-same-owner", "--no-same-permissions"]);
  }
  const layers = layersOf(dir);
  const stages: string[] = [];
  for (const [i, layer] of layers.entries()) {
    const stage = `${job.work}/layer-${i}`;
    mkdirSync(stage);
    run("tar", ["-xf", layer, "-C", stage, "--same-owner", "--numeric-owner", "--same-permissions", "--xattrs", "--xattrs-include=*", "--xattrs-exclude=security.capability"]);
    stages.push(stage);
  }
  mergeLayers({ layers: stages, into: job.into, dialect: "oci", keepMarkers: false });
  for (const s of stages) removeAny(Buffer.from(s), job.work);
  return { layers: layers.length };
}
