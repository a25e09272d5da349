import { useEffect, useState } from "preact/hooks";
import { call, json, sbx, type SnapshotInfo } from "./api.js";
import { ago, bytes, Empty, failed, go, h, notify } from "./ui.js";

/** Snapshots (of one sandbox, or all): take, fork into new sandboxes, delete. */
export function Snapshots({ sandboxId }: { sandboxId?: string }) {
  const [snaps, setSnaps] = useState<SnapshotInfo[] | undefined>();
  const refresh = () =>
    json<{ snapshots: SnapshotInfo[] }>("GET", "/v1/snapshots")
      .then((r) => setSnaps(r.snapshots.filter((s) => !sandboxId || s.sandboxId === sandboxId).sort((a, b) => b.createdAt.localeCompare(a.createdAt))))
      .catch(failed);
  useEffect(() => void refresh(), [sandboxId]);
  const take = async () => {
    try {
      await call("POST", `${sbx(sandboxId!)}/snapshots`, {});
      notify("Snapshot taken");
      await refresh();
    } catch (err) {
      failed(err);
    }
  };
  const fork = async (s: SnapshotInfo) => {
    const name = prompt(`New sandbox from ${s.id}:`, `${s.sandboxId}-fork`);
    if (!name) return;
    try {
      await json("POST", `/v1/snapshots/${s.id}/fork`, { names: [name] });
      go(`/sandboxes/${name}`);
    } catch (err) {
      failed(err);
    }
  };
  const remove = async (s: SnapshotInfo) => {
    if (!confirm(`Delete snapshot ${s.id}?`)) return;
    try {
      await call("DELETE", `/v1/snapshots/${s.id}`);
      await refresh();
    } catch (err) {
      failed(err);
    }
  };
  return h(
    "div",
    null,
    sandboxId && h("div", { class: "toolbar" }, h("span", { class: "muted" }, "A snapshot freezes the disk; forks stand on it and start in milliseconds."), h("button", { class: "btn primary", onClick: take }, "Take snapshot")),
    !snaps
      ? h(Empty, null, "Loading…")
      : snaps.length === 0
        ? h(Empty, null, "No snapshots yet.")
        : h(
            "table",
            { class: "table" },
            h("thead", null, h("tr", null, ["Id", "Sandbox", "Taken", "Size", ""].map((t) => h("th", { key: t }, t)))),
            h(
              "tbody",
              null,
              snaps.map((s) =>
                h(
                  "tr",
                  { key: s.id },
                  h("td", { class: "mono small" }, s.id),
                  h("td", null, s.sandboxId),
                  h("td", { class: "small" }, ago(s.createdAt)),
                  h("td", { class: "small" }, s.sizeBytes !== undefined ? bytes(s.sizeBytes) : ""),
                  h("td", { class: "row-actions" }, h("button", { class: "btn", onClick: () => fork(s) }, "Fork"), h("button", { class: "btn danger", onClick: () => remove(s) }, "Delete")),
                ),
              ),
            ),
          ),
  );
}
