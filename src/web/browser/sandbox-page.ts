import { useEffect, useState } from "preact/hooks";
import { json, sbx, type SandboxInfo } from "./api.js";
import { Code } from "./code-view.js";
import { Egress } from "./egress-view.js";
import { Files } from "./files-view.js";
import { Actions } from "./list.js";
import { Ports } from "./ports-view.js";
import { Processes } from "./processes-view.js";
import { Snapshots } from "./snapshots-view.js";
import { Terminals } from "./terminal-view.js";
import { ago, Badge, bytes, duration, failed, h, Link, useTick } from "./ui.js";
import type { SandboxUsage } from "../../contract/index.js";


/** What the sandbox has used (`GET /v1/sandboxes/:id/usage`, metered from its cgroup). */
function UsageRow({ u }: { u: SandboxUsage }) {
  const stat = (label: string, value: string) => h("div", { class: "stat" }, h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, value));
  return h(
    "div",
    { class: "stats" },
    stat("CPU used", `${u.cpuSeconds.toFixed(u.cpuSeconds < 10 ? 2 : 1)} s`),
    stat("Memory", `${bytes(u.memoryBytes)} (peak ${bytes(u.memoryPeakBytes)})`),
    stat("Disk", bytes(u.diskBytes)),
    stat("Egress out / in", `${bytes(u.egressBytesOut)} / ${bytes(u.egressBytesIn)}`),
  );
}

export const TABS = ["terminal", "files", "processes", "ports", "code", "egress", "snapshots"] as const;
export type TabName = (typeof TABS)[number];

/** One sandbox: its state and actions, then a tab each for terminal, files, processes, ports, code contexts, egress and snapshots. */
export function SandboxPage({ id, tab }: { id: string; tab: TabName }) {
  const [info, setInfo] = useState<SandboxInfo | undefined>();
  const [missing, setMissing] = useState(false);
  const [usage, setUsage] = useState<SandboxUsage | undefined>();
  const now = useTick();
  // The terminal tab stays mounted while others show, so its shells keep their screens.
  const [seenTerminal, setSeenTerminal] = useState(tab === "terminal");
  useEffect(() => void (tab === "terminal" && setSeenTerminal(true)), [tab]);
  useEffect(() => {
    const load = () =>
      json<SandboxInfo>("GET", sbx(id))
        .then((s) => (setInfo(s), setMissing(false)))
        .catch((err: { code?: string }) => (err.code === "SANDBOX_NOT_FOUND" ? setMissing(true) : failed(err)));
    const meter = () =>
      json<SandboxUsage>("GET", `${sbx(id)}/usage`)
        .then(setUsage)
        .catch(() => setUsage(undefined)); // a server without metering: the row is left out
    void load();
    void meter();
    const m = setInterval(meter, 5000);
    const i = setInterval(load, 2000);
    return () => (clearInterval(i), clearInterval(m));
  }, [id]);
  if (missing) return h("section", { class: "page" }, h("h1", null, id), h("p", { class: "muted" }, "There is no sandbox of this name (it may have been destroyed). ", h(Link, { href: "/" }, "Back to the list")));
  return h(
    "section",
    { class: "page sandbox-page" },
    h(
      "header",
      { class: "page-head" },
      h(
        "div",
        null,
        h("div", { class: "crumbs small" }, h(Link, { href: "/" }, "Sandboxes"), " / "),
        h("h1", { class: "mono" }, id, " ", info && h(Badge, { state: info.state })),
        info && h("p", { class: "muted small" }, `image ${info.image} · active ${ago(info.lastActiveAt, now)} · ${info.keepAlive ? "kept awake" : `sleeps after ${duration(info.sleepAfter)} idle`} · ${info.limits.cpus} CPU, ${info.limits.memoryMB} MB, ${info.limits.pids} pids${info.baseSnapshot ? ` · from ${info.baseSnapshot}` : ""}`),
      ),
      info && h(Actions, { s: info, compact: true }),
    ),
    usage && h(UsageRow, { u: usage }),
    h(
      "nav",
      { class: "tabs" },
      TABS.map((t) => h(Link, { key: t, href: `/sandboxes/${id}/${t}`, class: `tab ${t === tab ? "active" : ""}` }, t[0]!.toUpperCase() + t.slice(1))),
    ),
    h(
      "div",
      { class: "tab-body" },
      seenTerminal && h("div", { style: { display: tab === "terminal" ? "block" : "none" } }, h(Terminals, { sandboxId: id })),
      tab === "files" && h(Files, { sandboxId: id }),
      tab === "processes" && h(Processes, { sandboxId: id }),
      tab === "ports" && h(Ports, { sandboxId: id }),
      tab === "code" && h(Code, { sandboxId: id }),
      tab === "egress" && h(Egress, { sandboxId: id }),
      tab === "snapshots" && h(Snapshots, { sandboxId: id }),
    ),
  );
}
