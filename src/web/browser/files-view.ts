import { useEffect, useState } from "preact/hooks";
import { call, enc, json, sbx, type FileEntry } from "./api.js";
import { FileTree } from "./file-tree.js";
import { ago, bytes, Empty, failed, h, notify } from "./ui.js";

const IMAGE = /\.(png|jpe?g|gif|webp|svg|bmp|ico)$/i;
const join = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);
const parent = (p: string) => p.replace(/\/[^/]+$/, "") || "/";

function Viewer({ sandboxId, entry, onClose }: { sandboxId: string; entry: FileEntry; onClose: () => void }) {
  const [text, setText] = useState<string | undefined>();
  const [img, setImg] = useState<string | undefined>();
  useEffect(() => {
    let url: string | undefined;
    (async () => {
      const r = await call("GET", `${sbx(sandboxId)}/files?path=${enc(entry.path)}`);
      const blob = await r.blob();
      if (IMAGE.test(entry.name)) setImg((url = URL.createObjectURL(blob)));
      else setText(entry.size > 2 * 1024 * 1024 ? `(${bytes(entry.size)}: too large to show; download it)` : await blob.text());
    })().catch(failed);
    return () => url && URL.revokeObjectURL(url);
  }, [entry.path]);
  return h(
    "div",
    { class: "viewer" },
    h("div", { class: "viewer-head" }, h("span", { class: "mono" }, entry.path), h("button", { class: "btn", onClick: onClose }, "Close")),
    img ? h("img", { src: img, alt: entry.name, class: "viewer-img" }) : h("pre", { class: "viewer-text", "data-viewer": entry.path }, text ?? "Loading…"),
  );
}

/** The sandbox's files: a folder tree beside one directory's listing; view, download, upload (drop or pick), delete, new folder. */
export function Files({ sandboxId }: { sandboxId: string }) {
  const [dir, setDir] = useState("/workspace");
  const [entries, setEntries] = useState<FileEntry[] | undefined>();
  const [viewing, setViewing] = useState<FileEntry | undefined>();
  const [dragging, setDragging] = useState(false);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  useEffect(() => {
    setEntries(undefined);
    json<{ files: FileEntry[] }>("GET", `${sbx(sandboxId)}/files/list?path=${enc(dir)}&includeHidden=true`)
      .then((r) => setEntries(r.files.sort((a, b) => (a.type === "directory" ? 0 : 1) - (b.type === "directory" ? 0 : 1) || a.name.localeCompare(b.name))))
      .catch((err: { code?: string }) => {
        // Images without /workspace start at the root instead.
        if (dir === "/workspace" && err.code === "FILE_NOT_FOUND") return setDir("/");
        failed(err);
        setEntries([]);
      });
  }, [sandboxId, dir, version]);

  const upload = async (files: FileList | null) => {
    if (!files) return;
    for (const f of Array.from(files)) {
      try {
        await call("PUT", `${sbx(sandboxId)}/files?path=${enc(join(dir, f.name))}`, undefined, f);
        notify(`Uploaded ${f.name} (${bytes(f.size)})`);
      } catch (err) {
        failed(err);
      }
    }
    reload();
  };
  const remove = async (e: FileEntry) => {
    if (!confirm(`Delete ${e.path}${e.type === "directory" ? " and everything in it" : ""}?`)) return;
    try {
      await call("DELETE", `${sbx(sandboxId)}/files?path=${enc(e.path)}&recursive=${e.type === "directory"}`);
      reload();
    } catch (err) {
      failed(err);
    }
  };
  const mkdir = async () => {
    const name = prompt("New folder name:");
    if (!name) return;
    try {
      await call("POST", `${sbx(sandboxId)}/files/mkdir`, { path: join(dir, name), recursive: true });
      reload();
    } catch (err) {
      failed(err);
    }
  };
  const crumbs = dir.split("/").filter(Boolean);
  return h(
    "div",
    {
      class: `files ${dragging ? "dragging" : ""}`,
      onDragOver: (e: DragEvent) => (e.preventDefault(), setDragging(true)),
      onDragLeave: () => setDragging(false),
      onDrop: (e: DragEvent) => {
        e.preventDefault();
        setDragging(false);
        void upload(e.dataTransfer?.files ?? null);
      },
    },
    h(FileTree, { sandboxId, dir, version, onOpen: setDir }),
    h(
      "div",
      { class: "files-main" },
      h(
        "div",
        { class: "toolbar" },
        h(
          "nav",
          { class: "crumbs" },
          h("a", { href: "#", onClick: (e: Event) => (e.preventDefault(), setDir("/")) }, "/"),
          crumbs.map((c, i) => {
            const p = "/" + crumbs.slice(0, i + 1).join("/");
            return h("a", { key: p, href: "#", onClick: (e: Event) => (e.preventDefault(), setDir(p)) }, c, i < crumbs.length - 1 ? " / " : "");
          }),
        ),
        h(
          "div",
          { class: "actions" },
          h("button", { class: "btn", onClick: reload }, "Refresh"),
          h("button", { class: "btn", onClick: mkdir }, "New folder"),
          h("label", { class: "btn primary" }, "Upload", h("input", { type: "file", multiple: true, hidden: true, "data-upload": "", onChange: (e: Event) => void upload((e.target as HTMLInputElement).files) })),
        ),
      ),
      viewing && h(Viewer, { sandboxId, entry: viewing, onClose: () => setViewing(undefined) }),
      entries === undefined
        ? h(Empty, null, "Loading…")
        : h(
            "table",
            { class: "table files-table" },
            h("thead", null, h("tr", null, ["Name", "Size", "Mode", "Modified", ""].map((t) => h("th", { key: t }, t)))),
            h(
              "tbody",
              null,
              dir !== "/" && h("tr", { key: ".." }, h("td", { colSpan: 5 }, h("a", { href: "#", onClick: (e: Event) => (e.preventDefault(), setDir(parent(dir))) }, "↰ .."))),
              entries.map((e) =>
                h(
                  "tr",
                  { key: e.path, "data-file": e.name },
                  h(
                    "td",
                    null,
                    h(
                      "a",
                      { href: "#", class: `file-name ${e.type}`, onClick: (ev: Event) => (ev.preventDefault(), e.type === "directory" ? setDir(e.path) : setViewing(e)) },
                      h("span", { class: "icon" }, e.type === "directory" ? "▸" : e.type === "symlink" ? "↪" : "·"),
                      e.name,
                      e.type === "directory" ? "/" : "",
                    ),
                  ),
                  h("td", { class: "mono small" }, e.type === "directory" ? "" : bytes(e.size)),
                  h("td", { class: "mono small" }, e.mode),
                  h("td", { class: "small", title: e.modifiedAt }, ago(e.modifiedAt)),
                  h(
                    "td",
                    { class: "row-actions" },
                    e.type === "file" && h("a", { class: "btn", href: `${sbx(sandboxId)}/files?path=${enc(e.path)}`, download: e.name }, "Download"),
                    h("button", { class: "btn danger", onClick: () => remove(e) }, "Delete"),
                  ),
                ),
              ),
            ),
          ),
      entries?.length === 0 && h(Empty, null, "Empty directory. Drop files here to upload them."),
    ),
  );
}
