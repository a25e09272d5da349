/**
 * Put a manifest's entries into a Burrow sandbox: files and directories
 * through the files API, local files and directories read on this machine and
 * written in, git repositories cloned inside the sandbox (through its egress
 * proxy), then owners, groups and modes; accounts for its users and groups.
 */
import { UserError } from "@openai/agents";
import { isMount, Permissions, SandboxUnsupportedFeatureError, type Entry, type Manifest } from "@openai/agents/sandbox";
import { shellQuote } from "@openai/agents-core/sandbox/internal";
import type { Sandbox } from "../../client/index.js";

export interface MaterializeContext {
  sbx: Sandbox;
  /** Absolute sandbox path for a workspace-relative one (refuses paths that leave the root). */
  resolve: (path: string) => string;
  /** Run a shell script in the sandbox; throws with its output when it fails. */
  sh: (script: string, what: string) => Promise<string>;
  concurrency: { manifestEntries: number; localDirFiles: number };
}

async function limited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const joinRel = (a: string, b: string) => (a ? `${a}/${b}` : b).replace(/\/+/g, "/").replace(/^\.\//, "");

/** Accounts first (entries may be owned by them), then every entry, then their metadata. */
export async function materializeManifest(ctx: MaterializeContext, manifest: Manifest): Promise<void> {
  await ensureAccounts(ctx, manifest);
  const top = Object.entries(manifest.entries).filter(([, e]) => !isMount(e));
  for (const [path, e] of Object.entries(manifest.entries))
    if (isMount(e)) throw new SandboxUnsupportedFeatureError(`BurrowSandboxClient does not mount ${e.type} entries (${path}); copy the data in with a local_dir or git_repo entry, or a Burrow snapshot`, { provider: "burrow", feature: "mount", path });
  await limited(top, ctx.concurrency.manifestEntries, ([path, entry]) => materializeEntry(ctx, path, entry));
}

export async function materializeEntry(ctx: MaterializeContext, relPath: string, entry: Entry): Promise<void> {
  const abs = ctx.resolve(relPath);
  switch (entry.type) {
    case "dir":
      await ctx.sbx.mkdir(abs, { recursive: true });
      for (const [child, e] of Object.entries(entry.children ?? {})) await materializeEntry(ctx, joinRel(relPath, child), e);
      break;
    case "file":
      await ctx.sbx.writeFile(abs, entry.content);
      break;
    case "local_file": {
      const { readFile, stat } = await import("node:fs/promises");
      const st = await stat(entry.src).catch(() => undefined);
      if (!st?.isFile()) throw new UserError(`local_file entry ${relPath}: ${entry.src} is not a file on this machine`);
      await ctx.sbx.writeFile(abs, new Uint8Array(await readFile(entry.src)), { mode: st.mode & 0o777 });
      break;
    }
    case "local_dir":
      await copyLocalDir(ctx, entry.src, abs, relPath);
      break;
    case "git_repo":
      await cloneRepo(ctx, entry, abs);
      break;
    default:
      if (isMount(entry)) throw new SandboxUnsupportedFeatureError(`BurrowSandboxClient does not mount ${entry.type} entries (${relPath})`, { provider: "burrow", feature: "mount", path: relPath });
      throw new UserError(`unsupported sandbox entry type ${(entry as { type: string }).type} at ${relPath}`);
  }
  await applyMetadata(ctx, abs, entry);
}

async function copyLocalDir(ctx: MaterializeContext, src: string, abs: string, relPath: string): Promise<void> {
  const { readdir, readFile, lstat, readlink } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const st = await lstat(src).catch(() => undefined);
  if (!st?.isDirectory()) throw new UserError(`local_dir entry ${relPath}: ${src} is not a directory on this machine`);
  const files: { from: string; to: string; mode: number }[] = [];
  const links: { to: string; target: string }[] = [];
  const dirs: string[] = [abs];
  const walk = async (from: string, to: string) => {
    for (const d of await readdir(from, { withFileTypes: true })) {
      const f = join(from, d.name);
      const t = `${to}/${d.name}`;
      if (d.isDirectory()) {
        dirs.push(t);
        await walk(f, t);
      } else if (d.isSymbolicLink()) links.push({ to: t, target: await readlink(f) });
      else if (d.isFile()) files.push({ from: f, to: t, mode: (await lstat(f)).mode & 0o777 });
    }
  };
  await walk(src, abs);
  // Directories in one command; files in parallel through the files API; links last.
  await ctx.sh(`mkdir -p -- ${dirs.map(shellQuote).join(" ")}`, `create the directories of ${relPath}`);
  await limited(files, ctx.concurrency.localDirFiles, async (f) => {
    await ctx.sbx.writeFile(f.to, new Uint8Array(await readFile(f.from)), { mode: f.mode });
  });
  if (links.length) await ctx.sh(links.map((l) => `ln -sfn -- ${shellQuote(l.target)} ${shellQuote(l.to)}`).join("\n"), `create the links of ${relPath}`);
}

/** `owner/name` (on github.com or `host`) or a full URL; cloned inside the sandbox, at `ref`, keeping only `subpath` when given. */
export function gitUrl(entry: { host?: string; repo: string }): string {
  if (entry.repo.includes("://")) return entry.repo;
  return `https://${entry.host ?? "github.com"}/${entry.repo.replace(/\.git$/, "")}.git`;
}

async function cloneRepo(ctx: MaterializeContext, entry: Extract<Entry, { type: "git_repo" }>, abs: string): Promise<void> {
  const url = gitUrl(entry);
  const isCommit = entry.ref !== undefined && /^[0-9a-f]{7,40}$/i.test(entry.ref);
  const dest = entry.subpath ? `/tmp/.burrow-git-${Math.random().toString(36).slice(2, 10)}` : abs;
  await ctx.sbx.gitCheckout(url, { targetDir: dest, ...(entry.ref && !isCommit ? { branch: entry.ref } : {}) });
  if (isCommit) await ctx.sh(`git -C ${shellQuote(dest)} checkout -q ${shellQuote(entry.ref!)}`, `check out ${entry.ref} of ${url}`);
  if (entry.subpath) {
    const sub = entry.subpath.split("/").filter((p) => p && p !== ".");
    if (sub.includes("..")) throw new UserError(`git_repo subpath ${entry.subpath} leaves the repository`);
    const from = `${dest}/${sub.join("/")}`;
    await ctx.sh(
      `set -e; trap 'rm -rf -- ${shellQuote(dest)}' EXIT; test -e ${shellQuote(from)} || { echo "git_repo subpath ${entry.subpath} is not in ${url}" >&2; exit 1; }; mkdir -p -- "$(dirname -- ${shellQuote(abs)})"; rm -rf -- ${shellQuote(abs)}; cp -a -- ${shellQuote(from)} ${shellQuote(abs)}`,
      `take ${entry.subpath} from ${url}`,
    );
  }
}

async function applyMetadata(ctx: MaterializeContext, abs: string, entry: Entry): Promise<void> {
  const cmds: string[] = [];
  const recursive = entry.type === "dir" || entry.type === "local_dir" || entry.type === "git_repo" ? "-R " : "";
  if (entry.group) cmds.push(`chgrp ${recursive}-- ${shellQuote(entry.group.name)} ${shellQuote(abs)}`);
  if (entry.permissions !== undefined) {
    const mode = new Permissions(entry.permissions).toMode() & 0o7777;
    cmds.push(`chmod ${mode.toString(8)} -- ${shellQuote(abs)}`);
  }
  if (cmds.length) await ctx.sh(cmds.join(" && "), `set the owner or mode of ${abs}`);
}

async function ensureAccounts(ctx: MaterializeContext, manifest: Manifest): Promise<void> {
  const lines: string[] = [];
  const users = new Set(manifest.users.map((u) => u.name));
  for (const g of manifest.groups) for (const u of g.users ?? []) users.add(u.name);
  const valid = /^[a-z_][a-z0-9_-]{0,31}$/;
  for (const u of users) {
    if (!valid.test(u)) throw new UserError(`sandbox user name ${JSON.stringify(u)} is not a valid account name (lowercase letters, digits, _ and -)`);
    lines.push(`id -u ${u} >/dev/null 2>&1 || useradd -m -s /bin/bash ${u} 2>/dev/null || adduser -D ${u}`);
  }
  for (const g of manifest.groups) {
    if (!valid.test(g.name)) throw new UserError(`sandbox group name ${JSON.stringify(g.name)} is not a valid group name`);
    lines.push(`getent group ${g.name} >/dev/null 2>&1 || groupadd ${g.name} 2>/dev/null || addgroup ${g.name}`);
    for (const u of g.users ?? []) lines.push(`usermod -aG ${g.name} ${u.name} 2>/dev/null || addgroup ${u.name} ${g.name}`);
  }
  if (lines.length) await ctx.sh(`set -e\n${lines.join("\n")}`, "create the manifest's users and groups");
}
