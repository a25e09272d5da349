/**
 * Checks on a workspace tar archive before it is unpacked into a sandbox: size
 * and member limits, and no member that would land outside the directory
 * (absolute or `..` paths, links out, paths under a link, hard links,
 * devices). Read header by header; nothing is unpacked here. Used by the
 * OpenAI provider (burrow/openai) and the Cloudflare bridge.
 */

export interface TarLimits {
  maxInputBytes?: number | null;
  maxExtractedBytes?: number | null;
  maxMembers?: number | null;
}

/** Why an archive was refused; `limit` is set when a size or count limit was the reason. */
export class TarCheckError extends Error {
  constructor(
    readonly reason: string,
    readonly details: { member?: string; limit?: number; actual?: number } = {},
  ) {
    super(reason);
    this.name = "TarCheckError";
  }
}

const BLOCK = 512;

const text = (b: Uint8Array, at: number, len: number): string => {
  const s = b.subarray(at, at + len);
  const end = s.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? s.subarray(0, end) : s);
};

function octal(b: Uint8Array, at: number, len: number): number {
  // Base-256 (GNU) for sizes over 8 GiB: high bit set on the first byte.
  if (b[at]! & 0x80) {
    let n = 0;
    for (let i = 1; i < len; i++) n = n * 256 + b[at + i]!;
    return n;
  }
  const s = text(b, at, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function pax(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const s = new TextDecoder().decode(body);
  let i = 0;
  while (i < s.length) {
    const sp = s.indexOf(" ", i);
    if (sp < 0) break;
    const len = Number(s.slice(i, sp));
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = s.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** `./a/b/` -> `a/b`; null for the archive root itself. Throws for a path that leaves it. */
function relPath(name: string): string | null {
  if (name.startsWith("/")) throw new Error(`absolute member path ${name}`);
  const parts = name.split("/").filter((p) => p && p !== ".");
  if (parts.includes("..")) throw new Error(`member path ${name} has a ".." segment`);
  return parts.length ? parts.join("/") : null;
}

function linkLeaves(rel: string, target: string): boolean {
  if (target.startsWith("/")) return true;
  const depth = rel.split("/").length - 1;
  let level = depth;
  for (const p of target.split("/")) {
    if (p === "..") level--;
    else if (p && p !== ".") level++;
    if (level < 0) return true;
  }
  return false;
}

export interface TarSummary {
  members: number;
  bytes: number;
}

/**
 * Throws TarCheckError (with the reason and the member) when the archive
 * breaks a limit or could write outside its root; `protectedPaths` are
 * workspace-relative paths (ephemeral entries) no member may touch.
 */
export function checkTar(bytes: Uint8Array, lim: TarLimits | null | undefined, protectedPaths: string[] = []): TarSummary {
  const fail = (reason: string, extra: { member?: string; limit?: number; actual?: number } = {}): never => {
    throw new TarCheckError(reason, extra);
  };
  if (lim?.maxInputBytes != null && bytes.byteLength > lim.maxInputBytes)
    fail(`the archive is ${bytes.byteLength} bytes, over the limit of ${lim.maxInputBytes}`, { limit: lim.maxInputBytes, actual: bytes.byteLength });
  if (bytes.byteLength % BLOCK !== 0) fail("the archive is not a whole number of 512-byte tar blocks (truncated, or not a tar file)");
  const kinds = new Map<string, string>();
  let members = 0;
  let total = 0;
  let longName: string | undefined;
  let paxHeader: Record<string, string> | undefined;
  for (let off = 0; off + BLOCK <= bytes.byteLength; ) {
    const h = bytes.subarray(off, off + BLOCK);
    off += BLOCK;
    if (h.every((x) => x === 0)) break;
    if (text(h, 257, 5) !== "ustar") fail(`no tar header at byte ${off - BLOCK} (not a tar archive?)`);
    const type = h[156] === 0 ? "0" : String.fromCharCode(h[156]!);
    const size = octal(h, 124, 12);
    const body = bytes.subarray(off, off + size);
    if (body.byteLength !== size) fail("a member's data runs past the end of the archive (truncated)");
    off += Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x" || type === "g") {
      const p = pax(body);
      if (p.size !== undefined) fail("a PAX header overrides a member's size, which is not allowed");
      if (type === "x") paxHeader = p;
      else if (p.path !== undefined || p.linkpath !== undefined) fail("a global PAX header sets a path, which is not allowed");
      continue;
    }
    if (type === "L") {
      longName = text(body, 0, body.byteLength);
      continue;
    }
    const prefix = text(h, 345, 155);
    const name = paxHeader?.path ?? longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const link = paxHeader?.linkpath ?? text(h, 157, 100);
    paxHeader = longName = undefined;
    let rel: string | null;
    try {
      rel = relPath(name);
    } catch (err) {
      return fail((err as Error).message, { member: name });
    }
    if (rel === null) {
      if (type !== "5") fail(`the archive root ${name} must be a directory`, { member: name });
      continue;
    }
    if (!["0", "7", "5", "2"].includes(type)) fail(`member ${rel} is a ${type === "1" ? "hard link" : "device, FIFO or other special file"}, which a workspace archive may not hold`, { member: rel });
    if (type === "2" && linkLeaves(rel, link)) fail(`member ${rel} is a symbolic link to ${link}, outside the workspace`, { member: rel });
    for (const p of protectedPaths) if (p && (rel === p || rel.startsWith(`${p}/`) || p.startsWith(`${rel}/`) && type !== "5")) fail(`member ${rel} overlaps the ephemeral path ${p}`, { member: rel });
    members++;
    if (lim?.maxMembers != null && members > lim.maxMembers) fail(`the archive has more than ${lim.maxMembers} members`, { limit: lim.maxMembers, member: rel });
    if (type !== "5" && type !== "2") {
      total += size;
      if (lim?.maxExtractedBytes != null && total > lim.maxExtractedBytes) fail(`the archive unpacks to more than ${lim.maxExtractedBytes} bytes`, { limit: lim.maxExtractedBytes, member: rel });
    }
    const prev = kinds.get(rel);
    if (prev && !(prev === "5" && type === "5")) fail(`member ${rel} appears twice`, { member: rel });
    kinds.set(rel, type);
  }
  // Nothing may be unpacked through a link or a file named earlier.
  for (const rel of kinds.keys()) {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const k = kinds.get(parent);
      if (k && k !== "5") fail(`member ${rel} lies under ${parent}, which is ${k === "2" ? "a symbolic link" : "a file"}`, { member: rel });
    }
  }
  return { members, bytes: total };
}

/** An archive with nothing in it (two zero blocks). */
export const emptyTar = (): Uint8Array => new Uint8Array(BLOCK * 2);

/** POSIX shell single quoting. */
export const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The in-sandbox script that archives `root` into `archive` (GNU or busybox
 * tar), leaving out `excludes` (paths relative to root; glob characters in
 * them are taken literally).
 */
export function persistScript(root: string, archive: string, excludes: string[]): string {
  const ex = excludes.filter(Boolean).map((p) => `--exclude=${shq(`./${p.replace(/^\.?\//, "").replace(/([*?[\]\\])/g, "\\$1")}`)}`);
  return `mkdir -p -- ${shq(root)} && tar ${ex.join(" ")} -C ${shq(root)} -cf ${shq(archive)} .`;
}

/**
 * The in-sandbox script that replaces `root`'s contents with an archive's:
 * unpacked into a directory beside root first, swapped in only when that
 * worked, so a bad archive leaves root as it was. Check the archive with
 * checkTar before it gets here.
 */
export function hydrateScript(root: string, archive: string): string {
  const q = shq(root);
  return [
    `stage=$(mktemp -d "$(dirname -- ${q})/.burrow-hydrate-XXXXXX") || exit 1`,
    `if ! tar -C "$stage" -xf ${shq(archive)} >&2; then rm -rf -- "$stage"; echo "the archive could not be unpacked; the workspace is unchanged" >&2; exit 1; fi`,
    `mkdir -p -- ${q} && find ${q} -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + && find "$stage" -mindepth 1 -maxdepth 1 -exec mv -- {} ${q}/ \\; && rmdir -- "$stage"`,
  ].join("\n");
}
