import { chmodSync, lchownSync, unlinkSync } from "node:fs";
import { under, walk } from "./paths.js";

export interface NormaliseJob {
  root: string;
  /** Host uid/gid that root inside a sandbox maps to, and the size of the range. */
  offset: number;
  range: number;
  /** Keep setuid/setgid bits (images: their own sudo and passwd need them). */
  allowSetuid: boolean;
  /** Device nodes: `refuse` fails the job, `drop` deletes them; overlay whiteouts (0/0) always stay. */
  devices: "refuse" | "drop";
}

/**
 * Make a tree from outside safe to stand a sandbox on: every owner inside the
 * sandboxes' id range (ids below it are shifted up, ids beyond it become
 * nobody), setuid/setgid bits dropped unless allowed, device nodes refused.
 */
export function normalise(job: NormaliseJob): { files: number; shifted: number; setuidDropped: number; devicesDropped: number } {
  const nobody = job.offset + 65534;
  const shift = (id: number) => (id >= job.offset && id < job.offset + job.range ? id : id < job.range ? id + job.offset : nobody);
  let files = 0, shifted = 0, setuidDropped = 0, devicesDropped = 0;
  const devices: Buffer[] = [];
  walk(job.root, (rel, st) => {
    files++;
    const p = under(job.root, rel);
    if ((st.isCharacterDevice() || st.isBlockDevice()) && !(st.isCharacterDevice() && st.rdev === 0)) {
      if (job.devices === "refuse") throw new Error(`the archive holds a device node (${printable(rel)}); device nodes are refused`);
      devices.push(p);
      return;
    }
    const uid = shift(st.uid), gid = shift(st.gid);
    if (uid !== st.uid || gid !== st.gid) {
      lchownSync(p, uid, gid); // clears setuid/setgid on files: put back below if allowed
      shifted++;
    }
    if (st.isFile() && st.mode & 0o6000) {
      if (job.allowSetuid) chmodSync(p, st.mode & 0o7777);
      else {
        chmodSync(p, st.mode & 0o1777);
        setuidDropped++;
      }
    }
  });
  for (const p of devices) {
    unlinkSync(p);
    devicesDropped++;
  }
  return { files, shifted, setuidDropped, devicesDropped };
}

export const printable = (b: Buffer) => JSON.stringify(b.toString("latin1")).slice(1, -1);
