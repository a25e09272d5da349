/**
 * Checks on a workspace tar archive before it is unpacked into a directory:
 * size and member limits, and no member that would land outside it (absolute
 * or `..` paths, links out, paths under a link, hard links, devices). Read
 * header by header as the bytes arrive, so an archive can be checked while it
 * streams into `tar -x`: every byte handed on has passed. Nothing is unpacked
 * here. Used by the runtime's archive upload, the OpenAI provider
 * (burrow/openai) and the Cloudflare bridge.
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

export interface TarSummary {
  members: number;
  bytes: number;
}

const BLOCK = 512;
/** Bodies of PAX and GNU long-name headers are read whole; real ones are a few hundred bytes. */
const MAX_META_BODY = 1 << 20;

const text = (b: Uint8Array, at: number, len: number): string => {
  const s = b.subarray(at, at + len);
  const end = s.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? s.subarray(0, end) : s);
};

function octal(b: Uint8Array, at: number, len: number): number {
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
  let level = rel.split("/").length - 1;
  for (const p of target.split("/")) {
    if (p === "..") level--;
    else if (p && p !== ".") level++;
    if (level < 0) return true;
  }
  return false;
}

type Fail = (reason: string, extra?: { member?: string; limit?: number; actual?: number }) => never;
const fail: Fail = (reason, extra = {}) => {
  throw new TarCheckError(reason, extra);
};

/**
 * A tar archive checked as it streams: `push` each chunk (it throws
 * TarCheckError at the first header that breaks a rule, before that chunk
 * is used), then `end`. `protectedPaths` are directory-relative paths no
 * member may touch.
 */
export class TarChecker {
  private seen = 0;
  private members = 0;
  private extracted = 0;
  /** Bytes of the header block being gathered. */
  private header = new Uint8Array(BLOCK);
  private headerFill = 0;
  /** Bytes of member data (and padding) still to pass over. */
  private skip = 0;
  /** A PAX or GNU long-name body being gathered, and what it is. */
  private meta: { type: string; body: Uint8Array; fill: number; padding: number } | undefined;
  private paxHeader: Record<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private finished = false;
  private readonly kinds = new Map<string, string>();
  /** Every directory some member lies under: no later member may replace one with a file or link. */
  private readonly parents = new Set<string>();

  constructor(
    private readonly limits: TarLimits | null | undefined = undefined,
    private readonly protectedPaths: string[] = [],
  ) {}

  push(chunk: Uint8Array): void {
    this.seen += chunk.byteLength;
    const max = this.limits?.maxInputBytes;
    if (max != null && this.seen > max) fail(`the archive is over the limit of ${max} bytes`, { limit: max, actual: this.seen });
    let at = 0;
    while (at < chunk.byteLength && !this.finished) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.byteLength - at);
        this.skip -= n;
        at += n;
      } else if (this.meta) {
        const m = this.meta;
        const n = Math.min(m.body.byteLength - m.fill, chunk.byteLength - at);
        m.body.set(chunk.subarray(at, at + n), m.fill);
        m.fill += n;
        at += n;
        if (m.fill === m.body.byteLength) {
          this.meta = undefined;
          this.skip = m.padding;
          this.takeMeta(m.type, m.body);
        }
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.byteLength - at);
        this.header.set(chunk.subarray(at, at + n), this.headerFill);
        this.headerFill += n;
        at += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.takeHeader(this.header);
        }
      }
    }
  }

  /** The summary once the whole archive has been pushed; throws for one cut short. */
  end(): TarSummary {
    if (!this.finished) {
      if (this.skip > 0 || this.meta) fail("a member's data runs past the end of the archive (truncated)");
      if (this.headerFill !== 0) fail("the archive is not a whole number of 512-byte tar blocks (truncated, or not a tar file)");
    }
    return { members: this.members, bytes: this.extracted };
  }

  private takeMeta(type: string, body: Uint8Array): void {
    if (type === "x" || type === "g") {
      const p = pax(body);
      if (p.size !== undefined) fail("a PAX header overrides a member's size, which is not allowed");
      if (type === "x") this.paxHeader = p;
      else if (p.path !== undefined || p.linkpath !== undefined) fail("a global PAX header sets a path, which is not allowed");
    } else if (type === "L") this.longName = text(body, 0, body.byteLength);
    else this.longLink = text(body, 0, body.byteLength);
  }

  private takeHeader(h: Uint8Array): void {
    if (h.every((x) => x === 0)) {
      this.finished = true; // the end-of-archive marker: anything after it is never unpacked
      return;
    }
    if (text(h, 257, 5) !== "ustar") fail("no tar header where one was due (not a tar archive, or a corrupt one)");
    const type = h[156] === 0 ? "0" : String.fromCharCode(h[156]!);
    const size = octal(h, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (size > MAX_META_BODY) fail(`a ${type === "L" || type === "K" ? "long-name" : "PAX"} header of ${size} bytes is too large`);
      this.meta = { type, body: new Uint8Array(size), fill: 0, padding: padded - size };
      if (size === 0) {
        this.meta = undefined;
        this.takeMeta(type, new Uint8Array(0));
      }
      return;
    }
    const prefix = text(h, 345, 155);
    const name = this.paxHeader?.path ?? this.longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    const link = this.paxHeader?.linkpath ?? this.longLink ?? text(h, 157, 100);
    this.paxHeader = this.longName = this.longLink = undefined;
    this.skip = padded;
    this.takeMember(name, type, link, size);
  }

  private takeMember(name: string, type: string, link: string, size: number): void {
    let rel: string | null;
    try {
      rel = relPath(name);
    } catch (err) {
      return fail((err as Error).message, { member: name });
    }
    if (rel === null) {
      if (type !== "5") fail(`the archive root ${name} must be a directory`, { member: name });
      return;
    }
    if (!["0", "7", "5", "2"].includes(type)) fail(`member ${rel} is a ${type === "1" ? "hard link" : "device, FIFO or other special file"}, which a workspace archive may not hold`, { member: rel });
    if (type === "2" && linkLeaves(rel, link)) fail(`member ${rel} is a symbolic link to ${link}, outside the workspace`, { member: rel });
    for (const p of this.protectedPaths) if (p && (rel === p || rel.startsWith(`${p}/`) || (p.startsWith(`${rel}/`) && type !== "5"))) fail(`member ${rel} overlaps the ephemeral path ${p}`, { member: rel });
    this.members++;
    const maxMembers = this.limits?.maxMembers;
    if (maxMembers != null && this.members > maxMembers) fail(`the archive has more than ${maxMembers} members`, { limit: maxMembers, member: rel });
    if (type !== "5" && type !== "2") {
      this.extracted += size;
      const maxOut = this.limits?.maxExtractedBytes;
      if (maxOut != null && this.extracted > maxOut) fail(`the archive unpacks to more than ${maxOut} bytes`, { limit: maxOut, member: rel });
    }
    const prev = this.kinds.get(rel);
    if (prev && !(prev === "5" && type === "5")) fail(`member ${rel} appears twice`, { member: rel });
    // Nothing may be unpacked through a link or a file named earlier, nor replace a directory others lie under.
    if (type !== "5" && this.parents.has(rel)) fail(`member ${rel} is ${type === "2" ? "a symbolic link" : "a file"} where earlier members made a directory`, { member: rel });
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const k = this.kinds.get(parent);
      if (k && k !== "5") fail(`member ${rel} lies under ${parent}, which is ${k === "2" ? "a symbolic link" : "a file"}`, { member: rel });
      this.parents.add(parent);
    }
    this.kinds.set(rel, type);
  }
}

/** Check a whole archive in memory: throws TarCheckError, or gives its member count and unpacked size. */
export function checkTar(bytes: Uint8Array, lim: TarLimits | null | undefined, protectedPaths: string[] = []): TarSummary {
  const maxIn = lim?.maxInputBytes;
  if (maxIn != null && bytes.byteLength > maxIn) fail(`the archive is ${bytes.byteLength} bytes, over the limit of ${maxIn}`, { limit: maxIn, actual: bytes.byteLength });
  if (bytes.byteLength % BLOCK !== 0) fail("the archive is not a whole number of 512-byte tar blocks (truncated, or not a tar file)");
  const checker = new TarChecker(lim, protectedPaths);
  checker.push(bytes);
  return checker.end();
}

/** An archive with nothing in it (two zero blocks). */
export const emptyTar = (): Uint8Array => new Uint8Array(BLOCK * 2);
