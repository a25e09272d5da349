import { lstatSync, readdirSync, watch, type FSWatcher } from "node:fs";
import { join, relative } from "node:path";
import { BurrowError } from "../contract/errors.js";
import { PathFilter } from "./glob.js";

export interface WatchEvent {
  type: "create" | "modify" | "delete" | "move";
  path: string;
  isDirectory: boolean;
  /** For a move: where it was before. */
  from?: string;
}

export interface WatchOptions {
  recursive: boolean;
  include: string[];
  exclude: string[];
}

export const DEFAULT_EXCLUDES = [".git", "node_modules"];

/** How long bursts are gathered before they are reported; saves of one file become one event. */
const COALESCE_MS = 15;

/**
 * Watch a path with inotify (Node's fs.watch), one watch per directory.
 * Events are coalesced per path over a short window; a path that vanished and
 * one that appeared with the same inode in the same window are one move.
 */
export class TreeWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  /** What exists under the root: inode and kind, so deletes and moves can be told apart. */
  private readonly known = new Map<string, { ino: number; dir: boolean }>();
  private readonly pending = new Map<string, "rename" | "change">();
  private timer: NodeJS.Timeout | undefined;
  private readonly filter: PathFilter;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly opts: WatchOptions,
    private readonly emit: (e: WatchEvent) => void,
    private readonly onFatal: (message: string) => void,
  ) {
    this.filter = new PathFilter(opts.include, opts.exclude);
  }

  start(): void {
    let st;
    try {
      st = lstatSync(this.root);
    } catch {
      throw new BurrowError("FILE_NOT_FOUND", `cannot watch ${this.root}: it does not exist`, { path: this.root });
    }
    this.known.set(this.root, { ino: st.ino, dir: st.isDirectory() });
    if (st.isDirectory()) this.addDir(this.root, false);
    else this.watchOne(this.root, true);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private rel(path: string): string {
    return relative(this.root, path) || ".";
  }

  /** Watch a directory (and, when recursive, its subdirectories); optionally report what is already in it. */
  private addDir(dir: string, reportExisting: boolean): void {
    this.watchOne(dir, false);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      const isDir = st.isDirectory();
      if (!this.filter.enters(this.rel(p))) continue;
      const isNew = !this.known.has(p);
      this.known.set(p, { ino: st.ino, dir: isDir });
      if (reportExisting && isNew && this.filter.reports(this.rel(p), isDir)) this.emit({ type: "create", path: p, isDirectory: isDir });
      if (isDir && this.opts.recursive) this.addDir(p, reportExisting);
    }
  }

  private watchOne(path: string, isFile: boolean): void {
    if (this.watchers.has(path)) return;
    try {
      const w = watch(path, { persistent: false }, (eventType, name) => {
        const target = isFile ? path : name ? join(path, name.toString()) : path;
        if (target === path && !isFile) return; // the directory's own attributes
        this.queue(target, eventType as "rename" | "change");
      });
      w.on("error", () => this.dropWatch(path));
      this.watchers.set(path, w);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOSPC") this.onFatal("the kernel's inotify watch limit is reached; watch a smaller tree or exclude more");
    }
  }

  private dropWatch(path: string): void {
    for (const [p, w] of this.watchers) {
      if (p === path || p.startsWith(path + "/")) {
        w.close();
        this.watchers.delete(p);
      }
    }
  }

  private queue(path: string, kind: "rename" | "change"): void {
    if (this.closed) return;
    // A rename wins over a change: it may mean the path appeared or vanished.
    if (this.pending.get(path) !== "rename") this.pending.set(path, kind);
    this.timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  private flush(): void {
    this.timer = undefined;
    const batch = [...this.pending];
    this.pending.clear();
    const created: { path: string; ino: number; dir: boolean }[] = [];
    const deleted: { path: string; ino: number; dir: boolean }[] = [];
    const modified: { path: string; dir: boolean }[] = [];
    for (const [path, kind] of batch) {
      const before = this.known.get(path);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        st = undefined;
      }
      if (st && !before) created.push({ path, ino: st.ino, dir: st.isDirectory() });
      else if (!st && before) deleted.push({ path, ...before });
      else if (st && before && before.ino !== st.ino) {
        // Replaced in place (editors save by rename): the same path now holds a new file.
        this.known.set(path, { ino: st.ino, dir: st.isDirectory() });
        modified.push({ path, dir: st.isDirectory() });
      } else if (st && before && kind === "change" && !before.dir) modified.push({ path, dir: false });
    }
    for (const d of deleted) {
      const moved = created.findIndex((c) => c.ino === d.ino);
      if (moved >= 0) {
        const c = created.splice(moved, 1)[0]!;
        this.forget(d.path);
        this.known.set(c.path, { ino: c.ino, dir: c.dir });
        if (c.dir && this.opts.recursive) this.addDir(c.path, false);
        this.report({ type: "move", path: c.path, from: d.path, isDirectory: c.dir });
        continue;
      }
      this.forget(d.path);
      this.report({ type: "delete", path: d.path, isDirectory: d.dir });
      if (d.path === this.root) this.onFatal(`the watched path ${this.root} was deleted`);
    }
    for (const c of created) {
      this.known.set(c.path, { ino: c.ino, dir: c.dir });
      this.report({ type: "create", path: c.path, isDirectory: c.dir });
      // Files may have landed in a new directory before its watch existed: report them too.
      if (c.dir && this.opts.recursive && this.filter.enters(this.rel(c.path))) this.addDir(c.path, true);
    }
    for (const m of modified) this.report({ type: "modify", path: m.path, isDirectory: m.dir });
  }

  private forget(path: string): void {
    for (const p of this.known.keys()) if (p === path || p.startsWith(path + "/")) this.known.delete(p);
    this.dropWatch(path);
  }

  private report(e: WatchEvent): void {
    const check = e.type === "move" ? [e.path, e.from!] : [e.path];
    if (check.some((p) => this.filter.reports(this.rel(p), e.isDirectory))) this.emit(e);
  }
}
