/** A shell-style glob (`*`, `**`, `?`) as a regex over a relative path. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        re += ".*";
        i++;
        if (glob[i + 1] === "/") i++;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Include/exclude filters. A pattern without a slash matches any single path
 * segment (so `node_modules` or `*.ts` work at any depth); with a slash it
 * matches the whole path relative to the watched root.
 */
export class PathFilter {
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];
  private readonly includeHasSlash: boolean[];
  private readonly excludeHasSlash: boolean[];

  constructor(include: string[], exclude: string[]) {
    this.include = include.map(globToRegExp);
    this.exclude = exclude.map(globToRegExp);
    this.includeHasSlash = include.map((g) => g.includes("/"));
    this.excludeHasSlash = exclude.map((g) => g.includes("/"));
  }

  /** Whether a directory should be entered at all. */
  enters(rel: string): boolean {
    const segs = rel.split("/");
    return !this.exclude.some((re, i) => (this.excludeHasSlash[i] ? re.test(rel) : segs.some((s) => re.test(s))));
  }

  /** Whether an event on this path is reported. */
  reports(rel: string, isDirectory: boolean): boolean {
    if (!this.enters(rel)) return false;
    if (!this.include.length || isDirectory) return true;
    const base = rel.slice(rel.lastIndexOf("/") + 1);
    return this.include.some((re, i) => re.test(this.includeHasSlash[i] ? rel : base));
  }
}
