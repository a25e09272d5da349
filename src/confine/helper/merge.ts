import { spawnSync } from "node:child_process";
import type { Stats } from "node:fs";
import { type BPath, lstatOrNull, removeAny, under, walk } from "./paths.js";
import { markOpaque, opaqueDirs } from "./xattrs.js";

/**
 * How a layer marks what it hides from the layers below it:
 * - `overlay`: overlayfs upper layers: a 0/0 character device is a whiteout,
 *   trusted.overlay.opaque="y" makes a directory opaque.
 * - `oci`: image layers: `.wh.NAME` deletes NAME, `.wh..wh..opq` makes its
 *   directory opaque.
 */
export type Dialect = "overlay" | "oci";

export interface MergeJob {
  /** Layer roots in the jail, bottom first. */
  layers: string[];
  /** An empty or partly merged directory in the jail the result goes into. */
  into: string;
  dialect: Dialect;
  /**
   * Keep the markers in the result (overlay dialect only), so the merged
   * layer still hides files of whatever it is later stacked on.
   */
  keepMarkers: boolean;
}

const isWhiteoutDevice = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;
const WH = Buffer.from(".wh.");
const OPQ = Buffer.from(".wh..wh..opq");
const key = (b: BPath) => b.toString("latin1");

/**
 * Stack layers into one directory the way overlayfs shows them. Each layer is
 * walked top-down before its files are copied, and anything in the result
 * that the layer replaces (a whiteout's target, an opaque directory's old
 * contents, a directory where the layer has a file or the other way round)
 * is removed first. So by the time `cp -a` runs, every parent of every path
 * it writes is a real directory it made or checked, never a link.
 */
export function mergeLayers(job: MergeJob): { layers: number } {
  for (const layer of job.layers) {
    const opaque = new Set(job.dialect === "overlay" ? opaqueDirs(layer).map(key) : []);
    const markers: BPath[] = []; // OCI marker files, removed from the layer copy before it is copied
    const needOpaque: BPath[] = [];
    walk(layer, (rel, st, name) => {
      const dst = under(job.into, rel);
      const have = lstatOrNull(dst);
      if (job.dialect === "oci" && name.subarray(0, 4).equals(WH)) {
        markers.push(rel);
        if (!name.equals(OPQ)) removeAny(Buffer.concat([dst.subarray(0, dst.length - name.length), name.subarray(4)]), job.into);
        return;
      }
      if (!st.isDirectory()) {
        if (have?.isDirectory()) removeAny(dst, job.into);
        if (isWhiteoutDevice(st) && !job.keepMarkers) {
          removeAny(dst, job.into);
          markers.push(rel);
        }
        return;
      }
      const ociOpaque = job.dialect === "oci" && lstatOrNull(Buffer.concat([under(layer, rel), Buffer.from("/"), OPQ])) !== null;
      const isOpaque = opaque.has(key(rel)) || ociOpaque;
      const replacesNonDir = have !== null && !have.isDirectory();
      if (replacesNonDir) removeAny(dst, job.into);
      else if (have && isOpaque) removeAny(dst, job.into);
      // A directory over a non-directory hides everything below it, as an opaque one does.
      if (job.keepMarkers && replacesNonDir && !isOpaque) needOpaque.push(dst);
      return true;
    });
    copyLayer(layer, job.into, markers);
    if (job.keepMarkers) markOpaque(needOpaque);
  }
  return { layers: job.layers.length };
}

/** `cp -a` a layer over the result; OCI marker files are taken out again (the layer itself is read-only). */
function copyLayer(layer: string, into: string, markers: BPath[]): void {
  run("cp", ["-a", "--reflink=auto", "--remove-destination", `${layer}/.`, into]);
  for (const rel of markers) removeAny(under(into, rel), into);
}

export function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.toString().trim().split("\n").slice(0, 3).join("; ")}`);
}
