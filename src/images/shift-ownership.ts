import { lstat, lchown, chmod, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Shift every owner and group in a tree by `offset`, so that root inside a
 * user namespace (mapped to `offset` on the host) owns what root owned in the
 * image. chown clears setuid/setgid bits, so modes are put back afterwards.
 * Idempotent: ids already at or above the offset are left alone.
 */
export async function shiftOwnership(root: string, offset: number, onProgress?: (files: number) => void): Promise<number> {
  let count = 0;
  const queue: string[] = [root];
  while (queue.length) {
    const batch = queue.splice(0, 64);
    await Promise.all(
      batch.map(async (path) => {
        const st = await lstat(path);
        if (st.uid < offset || st.gid < offset) {
          const uid = st.uid < offset ? st.uid + offset : st.uid;
          const gid = st.gid < offset ? st.gid + offset : st.gid;
          await lchown(path, uid, gid);
          if (!st.isSymbolicLink() && st.mode & 0o6000) await chmod(path, st.mode & 0o7777);
        }
        count++;
        if (onProgress && count % 5000 === 0) onProgress(count);
        if (st.isDirectory()) {
          for (const name of await readdir(path)) queue.push(join(path, name));
        }
      }),
    );
  }
  return count;
}
