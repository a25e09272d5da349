import { appendFileSync, copyFileSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, chownSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { BurrowError } from "../contract/errors.js";

/** A login name as useradd takes it by default. */
const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
  created: boolean;
}

const fields = (file: string): string[][] => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => l.split(":"));
  } catch {
    return [];
  }
};

/**
 * /etc/skel into a new home as useradd copies it: files (with their modes),
 * directories and symbolic links, times kept, nothing already there replaced.
 * By hand: fs.cpSync loads and compiles its module at its first use, which
 * was half of making an account (3-7 ms of E2B's create).
 */
function copySkel(from: string, to: string): void {
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (lstatSync(dst, { throwIfNoEntry: false })) continue;
    const st = lstatSync(src);
    if (e.isDirectory()) {
      mkdirSync(dst, { mode: st.mode & 0o7777 });
      copySkel(src, dst);
    } else if (e.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), dst);
      continue;
    } else if (e.isFile()) copyFileSync(src, dst);
    else continue;
    utimesSync(dst, st.atime, st.mtime);
  }
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else lchownSync(p, uid, gid);
  }
}

/**
 * The account `name`, made when `create` is set and the image lacks it. It is
 * written as useradd would write it (the first id from 1000 free as both uid
 * and gid, a group of its own, a locked password, a home from /etc/skel), but
 * in-process: useradd takes 100-150 ms here, and an E2B sandbox's create waits
 * for this. `claimWorkspace` gives the user an untouched /workspace. Null: no
 * such user, and `create` was not asked for.
 */
export function ensureUser(name: string, opts: { create?: boolean; claimWorkspace?: boolean } = {}): UserInfo | null {
  if (!NAME.test(name)) throw new BurrowError("VALIDATION_FAILED", `${JSON.stringify(name)} is not a user name: lowercase letters, digits, '_' and '-', starting with a letter or '_'`);
  const passwd = fields("/etc/passwd");
  const known = passwd.find((f) => f[0] === name);
  if (known) {
    const home = known[5] || `/home/${name}`;
    const [uid, gid] = [Number(known[2]), Number(known[3])];
    if (opts.claimWorkspace) claimWorkspace(uid, gid);
    return { name, uid, gid, home, created: false };
  }
  if (!opts.create) return null;
  const groups = fields("/etc/group");
  const used = new Set([...passwd.map((f) => Number(f[2])), ...groups.map((g) => Number(g[2]))]);
  let id = 1000;
  while (used.has(id)) id++;
  // A group of that name already there (and no such user) becomes the user's own, as `useradd -g` would.
  const group = groups.find((g) => g[0] === name);
  const gid = group ? Number(group[2]) : id;
  const home = `/home/${name}`;
  if (!group) {
    appendFileSync("/etc/group", `${name}:x:${gid}:\n`);
    if (existsSync("/etc/gshadow")) appendFileSync("/etc/gshadow", `${name}:!::\n`);
  }
  if (existsSync("/etc/shadow")) appendFileSync("/etc/shadow", `${name}:!:${Math.floor(Date.now() / 86_400_000)}:0:99999:7:::\n`);
  appendFileSync("/etc/passwd", `${name}:x:${id}:${gid}::${home}:/bin/bash\n`);
  mkdirSync(home, { recursive: true, mode: 0o755 });
  if (existsSync("/etc/skel")) copySkel("/etc/skel", home);
  chownTree(home, id, gid);
  if (opts.claimWorkspace) claimWorkspace(id, gid);
  return { name, uid: id, gid, home, created: true };
}

/**
 * Give Burrow's /workspace to the account while it is still as the runtime
 * made it (empty, root's): an E2B sandbox's user owns its workspace, whether
 * the image had the account or it was made now. Anything already in it, or
 * a workspace someone gave away, is left as it is.
 */
function claimWorkspace(uid: number, gid: number): void {
  const st = statSync("/workspace", { throwIfNoEntry: false });
  if (st?.isDirectory() && st.uid === 0 && readdirSync("/workspace").length === 0) chownSync("/workspace", uid, gid);
}

/** Who a command runs as: what setpriv --reuid --regid --init-groups would set. */
export interface Identity {
  uid: number;
  gid: number;
  groups: number[];
}

/** The ids of account `name`: its uid and primary gid, and every group that lists it (with the primary one). Null when there is no such account. */
export function identityOf(name: string): Identity | null {
  const user = fields("/etc/passwd").find((f) => f[0] === name);
  if (!user) return null;
  const gid = Number(user[3]);
  const groups = new Set([gid]);
  for (const g of fields("/etc/group")) if ((g[3] ?? "").split(",").includes(name)) groups.add(Number(g[2]));
  return { uid: Number(user[2]), gid, groups: [...groups] };
}
