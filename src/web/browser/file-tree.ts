import type { ComponentChild } from "preact";
import { useEffect, useState } from "preact/hooks";
import { enc, json, sbx, type FileEntry } from "./api.js";
import { h } from "./ui.js";

/** "/a/b/c" -> ["/", "/a", "/a/b", "/a/b/c"]: the folders to open so that `dir` shows. */
const ancestors = (dir: string) => ["/", ...dir.split("/").filter(Boolean).map((_, i, parts) => "/" + parts.slice(0, i + 1).join("/"))];

/** A folder's subfolders, or why they cannot be read. */
type Children = { dirs: string[] } | { error: string };

/**
 * The sandbox's folders as a tree beside the listing. Folders load when first
 * opened, the one shown is marked and its ancestors open by themselves, and a
 * new `version` (the listing changed something) reloads the open ones.
 */
export function FileTree({ sandboxId, dir, version, onOpen }: { sandboxId: string; dir: string; version: number; onOpen: (path: string) => void }) {
  const [children, setChildren] = useState<Map<string, Children>>(new Map());
  const [open, setOpen] = useState<Set<string>>(() => new Set(ancestors(dir)));

  const load = (paths: string[]) =>
    Promise.all(
      paths.map(async (path): Promise<[string, Children]> => {
        try {
          const r = await json<{ files: FileEntry[] }>("GET", `${sbx(sandboxId)}/files/list?path=${enc(path)}&includeHidden=true`);
          return [path, { dirs: r.files.filter((f) => f.type === "directory").map((f) => f.name).sort((a, b) => a.localeCompare(b)) }];
        } catch (err) {
          return [path, { error: (err as { code?: string }).code ?? "unreadable" }];
        }
      }),
    ).then((loaded) => setChildren((m) => new Map([...m, ...loaded])));

  // The shown folder's ancestors open, and load if they are new.
  useEffect(() => {
    const wanted = ancestors(dir);
    setOpen((s) => new Set([...s, ...wanted]));
    void load(wanted.filter((p) => !children.has(p)));
  }, [sandboxId, dir]);
  // Something changed: reload every open folder.
  useEffect(() => {
    if (version) void load([...open]);
  }, [version]);

  const toggle = (path: string) => {
    const next = new Set(open);
    if (next.has(path)) next.delete(path);
    else {
      next.add(path);
      if (!children.has(path)) void load([path]);
    }
    setOpen(next);
  };

  const node = (path: string, name: string, depth: number): ComponentChild => {
    const isOpen = open.has(path);
    const kids = children.get(path);
    return h(
      "li",
      { key: path, "data-tree": path, class: `${path === dir ? "current" : ""} ${isOpen ? "open" : ""}` },
      h(
        "div",
        { class: "tree-row", style: { paddingLeft: `${depth * 14 + 6}px` } },
        h("button", { class: "tree-toggle", title: isOpen ? "Collapse" : "Expand", "aria-expanded": isOpen, onClick: () => toggle(path) }, isOpen ? "▾" : "▸"),
        h("a", { href: "#", class: "tree-name", onClick: (e: Event) => (e.preventDefault(), onOpen(path)) }, name),
      ),
      isOpen &&
        (kids === undefined
          ? h("div", { class: "tree-note", style: { paddingLeft: `${depth * 14 + 26}px` } }, "…")
          : "error" in kids
            ? h("div", { class: "tree-note", style: { paddingLeft: `${depth * 14 + 26}px` } }, kids.error === "PERMISSION_DENIED" ? "no access" : "cannot be read")
            : kids.dirs.length > 0 && h("ul", null, kids.dirs.map((d) => node(path === "/" ? `/${d}` : `${path}/${d}`, d, depth + 1)))),
    );
  };
  return h("nav", { class: "file-tree", "aria-label": "Folders" }, h("ul", null, node("/", "/", 0)));
}
