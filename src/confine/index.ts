import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { type Bind, builtFile, JailError, runJailed } from "./jail.js";

export { JailError } from "./jail.js";

const pexec = promisify(execFile);

/**
 * The canonical range: layers (image versions, snapshot layers, pulled
 * archives) are stored with root inside as this host uid/gid; each sandbox
 * has a range of its own (sandboxes/uid-ranges.ts) and sees layers through an
 * idmapped mount. The size of every range.
 */
export const SANDBOX_ID_OFFSET = 100000;
export const SANDBOX_ID_RANGE = 65536;

/**
 * Remove a whole tree from the host side. `rm` never follows links and copes
 * with trees deeper than PATH_MAX; it does not cross into mounts.
 */
export async function removeTree(path: string): Promise<void> {
  await pexec("rm", ["-rf", "--one-file-system", "--", path], { maxBuffer: 1 << 24 });
}

/**
 * Copy a tree into a fresh directory (owners, modes, times, xattrs, whiteout
 * devices, hard links and holes kept) with burrow-copytree (copytree/), which
 * works only through directory descriptors: no link is followed, names are
 * bytes, and depth is unlimited.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  // Not cp -a: it resolves whole paths, so it stops at PATH_MAX (4 KiB), which a sandbox can exceed.
  await pexec(builtFile("burrow-copytree"), [from, to], { maxBuffer: 1 << 24 });
}

/**
 * Move the owners of a tree that a sandbox wrote in its own range (`fromBase`
 * onwards) into the canonical range, in place, so it can be a layer other
 * sandboxes stand on (burrow-idshift: directory descriptors only; setuid
 * bits, file capabilities and ACL entries kept). Owners already canonical
 * stay. Only for trees no sandbox is writing (a sleeping one's upper layer,
 * a fresh copy).
 */
export async function shiftOwners(root: string, fromBase: number): Promise<{ files: number; shifted: number }> {
  if (fromBase === SANDBOX_ID_OFFSET) return { files: 0, shifted: 0 };
  const { stdout } = await pexec(builtFile("burrow-idshift"), [String(fromBase), String(SANDBOX_ID_OFFSET), String(SANDBOX_ID_RANGE), root], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as { files: number; shifted: number };
}

/**
 * Merge overlay layers (bottom first) into `into`, as overlayfs would show
 * them stacked, keeping the whiteouts and opaque marks that hide files of the
 * image below. Runs in a jail where the layers are read-only.
 */
export async function mergeLayers(bottomFirst: string[], into: string): Promise<void> {
  const binds: Bind[] = [{ host: into, at: "/into", writable: true }, ...bottomFirst.map((host, i) => ({ host, at: `/layers/${i}` }))];
  await runJailed(binds, { op: "merge", layers: bottomFirst.map((_, i) => `/layers/${i}`), into: "/into", dialect: "overlay", keepMarkers: true });
}

export interface ExtractOptions {
  /** Extra tar flags (compression). */
  tarArgs?: string[];
  /** Keep setuid/setgid bits from the archive. */
  allowSetuid?: boolean;
}

/**
 * Unpack a layer archive that came from outside (the blob store) into an
 * empty directory, then normalise it: owners into the sandboxes' id range,
 * setuid/setgid and file capabilities dropped unless allowed, device nodes
 * (other than overlay whiteouts) refused.
 */
export async function extractArchive(archive: string, into: string, opts: ExtractOptions = {}): Promise<void> {
  const args = [...(opts.tarArgs ?? []), "--xattrs", "--xattrs-include=*", ...(opts.allowSetuid ? [] : ["--xattrs-exclude=security.capability"]),
    "--numeric-owner", "--same-owner", "--same-permissions", "--sparse"];
  await runJailed([{ host: archive, at: "/archive" }, { host: into, at: "/into", writable: true }], {
    op: "extract",
    archive: "/archive",
    into: "/into",
    args,
    normalise: { offset: SANDBOX_ID_OFFSET, range: SANDBOX_ID_RANGE, allowSetuid: !!opts.allowSetuid, devices: "refuse" },
  });
}

/**
 * Unpack an image archive (docker save or OCI layout, tar or directory) into
 * `rootfs`, each layer confined to the jail, then shift owners for the
 * sandboxes' user namespace. Setuid bits stay (an image's own sudo needs them);
 * device nodes are dropped (a sandbox's /dev is its own).
 */
export async function unpackImage(archive: string, rootfs: string): Promise<{ layers: number }> {
  mkdirSync(rootfs, { recursive: true });
  const work = mkdtempSync(join(dirname(rootfs), ".unpack-"));
  try {
    const r = await runJailed<{ layers: number }>(
      [{ host: archive, at: "/src" }, { host: rootfs, at: "/into", writable: true }, { host: work, at: "/work", writable: true }],
      { op: "image", src: "/src", into: "/into", work: "/work" },
    );
    await normaliseTree(rootfs, { allowSetuid: true, devices: "drop" });
    return r;
  } finally {
    await removeTree(work);
  }
}

/** Shift owners of a tree into the sandboxes' id range (and apply the same device and setuid rules), in a jail. */
export async function normaliseTree(root: string, opts: { allowSetuid: boolean; devices: "refuse" | "drop" }): Promise<{ files: number }> {
  return runJailed([{ host: root, at: "/root" }].map((b) => ({ ...b, writable: true })), {
    op: "normalise",
    root: "/root",
    offset: SANDBOX_ID_OFFSET,
    range: SANDBOX_ID_RANGE,
    ...opts,
  });
}

export const isJailError = (e: unknown): e is JailError => e instanceof JailError;
