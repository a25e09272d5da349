import { execFile } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { promisify } from "node:util";

const pexec = promisify(execFile);

/** `--data-volume 20G`: a size in M, G or T, at least 1 GiB (btrfs and the registry need room of their own). */
export function parseVolumeSize(spec: string): number {
  const m = /^(\d{1,7})([MGT])$/i.exec(spec);
  const bytes = m ? Number(m[1]) * 1024 ** ({ M: 2, G: 3, T: 4 } as const)[m[2]!.toUpperCase() as "M" | "G" | "T"] : NaN;
  if (!(bytes >= 1024 ** 3)) throw new Error(`--data-volume takes a size such as 20G (M, G or T; at least 1G); got ${JSON.stringify(spec)}`);
  return bytes;
}

/** The filesystem type mounted exactly at `dir`, from /proc/self/mountinfo (the last mount there wins). */
function mountedType(dir: string): string | undefined {
  let type: string | undefined;
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    if (f[4] !== dir) continue;
    const sep = f.indexOf("-");
    type = f[sep + 1];
  }
  return type;
}

/**
 * Put the data directory on a btrfs filesystem of its own, in an image file
 * beside it (`<data>.img`, sparse, created at the first start), with quota
 * groups on, so per-sandbox disk limits are enforced. Later starts mount the
 * same image again; it stays mounted when the server stops, because running
 * sandboxes outlive a stop (live restore). An existing data directory that
 * holds files is never covered by a new volume.
 */
export async function mountDataVolume(dataDir: string, size: string, image = `${dataDir}.img`): Promise<void> {
  const bytes = parseVolumeSize(size);
  if (mountedType(dataDir) === "btrfs") return void (await enableQuotas(dataDir));
  let grow = false;
  if (!existsSync(image)) {
    if (existsSync(dataDir) && readdirSync(dataDir).length)
      throw new Error(`--data-volume: ${dataDir} already holds files, which a new volume would hide; move them away (or pick another --data) and start again`);
    // Built beside its final name and renamed, so a failed mkfs leaves no image to be mounted next time.
    // Root alone may read it: it will hold the registry and every sandbox's disk.
    const tmp = `${image}.tmp-${process.pid}`;
    closeSync(openSync(tmp, "w", 0o600));
    try {
      await pexec("truncate", ["-s", String(bytes), tmp]);
      await pexec("mkfs.btrfs", ["-q", tmp]);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new Error(`--data-volume: could not make a btrfs image at ${image} (is btrfs-progs installed?): ${(err as Error).message}`);
    }
    renameSync(tmp, image);
  } else if (statSync(image).size < bytes) {
    // A larger size than last time grows the image (never shrinks it); the filesystem follows once mounted.
    await pexec("truncate", ["-s", String(bytes), image]);
    grow = true;
  }
  mkdirSync(dataDir, { recursive: true });
  await pexec("mount", ["-o", "loop", image, dataDir]);
  if (grow) await pexec("btrfs", ["filesystem", "resize", "max", dataDir]);
  chmodSync(dataDir, 0o711);
  await enableQuotas(dataDir);
}

/** Quota groups on (a no-op when they already are). */
async function enableQuotas(dir: string): Promise<void> {
  await pexec("btrfs", ["quota", "enable", dir]).catch((err: Error) => {
    throw new Error(`--data-volume: could not turn btrfs quotas on for ${dir} (install btrfs-progs): ${err.message}`);
  });
}
