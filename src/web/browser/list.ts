import { useEffect, useState } from "preact/hooks";
import { call, json, sbx, type SandboxInfo, type SnapshotInfo } from "./api.js";
import { ago, Badge, bytes, duration, Empty, failed, go, h, Link, notify, useTick } from "./ui.js";

/** The sandbox list, kept current by the change feed (`GET /v1/sandbox-events`). */
function useSandboxes(): { list: SandboxInfo[]; live: boolean } {
  const [map, setMap] = useState<Map<string, SandboxInfo>>(new Map());
  const [live, setLive] = useState(false);
  useEffect(() => {
    const es = new EventSource("/v1/sandbox-events");
    es.addEventListener("sandboxes", (e) => {
      setMap(new Map((JSON.parse((e as MessageEvent).data).sandboxes as SandboxInfo[]).map((s) => [s.id, s])));
      setLive(true);
    });
    es.addEventListener("changed", (e) => {
      const s = JSON.parse((e as MessageEvent).data).sandbox as SandboxInfo;
      setMap((m) => new Map(m).set(s.id, s));
    });
    es.addEventListener("removed", (e) => {
      const { id } = JSON.parse((e as MessageEvent).data) as { id: string };
      setMap((m) => {
        const n = new Map(m);
        n.delete(id);
        return n;
      });
    });
    es.onerror = () => setLive(false);
    return () => es.close();
  }, []);
  const list = [...map.values()].sort((a, b) => b.lastActiveAt.localeCompare(a.lastActiveAt));
  return { list, live };
}

/** CPU (a share of one core, from two readings apart) and memory now of every running sandbox (`GET /v1/usage/running`, every 3 s). */
function useRunningUsage(): Map<string, { cpuPct?: number; memoryBytes: number }> {
  const [now, setNow] = useState(new Map<string, { cpuPct?: number; memoryBytes: number }>());
  useEffect(() => {
    let last = new Map<string, { at: number; cpu: number }>();
    let stopped = false;
    const load = () =>
      json<{ at: string; sandboxes: { sandbox: string; cpuSeconds: number; memoryBytes: number }[] }>("GET", "/v1/usage/running")
        .then((r) => {
          if (stopped) return;
          const at = Date.parse(r.at);
          const next = new Map<string, { at: number; cpu: number }>();
          const shown = new Map<string, { cpuPct?: number; memoryBytes: number }>();
          for (const u of r.sandboxes) {
            const prev = last.get(u.sandbox);
            next.set(u.sandbox, { at, cpu: u.cpuSeconds });
            const cpuPct = prev && at > prev.at ? (Math.max(0, u.cpuSeconds - prev.cpu) / ((at - prev.at) / 1000)) * 100 : undefined;
            shown.set(u.sandbox, { cpuPct, memoryBytes: u.memoryBytes });
          }
          last = next;
          setNow(shown);
        })
        .catch(() => {}); // a server without metering: the column stays empty
    void load();
    const i = setInterval(load, 3000);
    return () => ((stopped = true), clearInterval(i));
  }, []);
  return now;
}

async function act(label: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
    notify(label);
  } catch (err) {
    failed(err);
  }
}

export async function snapshotAndFork(id: string): Promise<void> {
  const name = prompt(`Fork ${id} into a new sandbox named:`, `${id}-fork`);
  if (!name) return;
  await act(`Forked ${id} into ${name}`, async () => {
    const snap = await json<SnapshotInfo>("POST", `${sbx(id)}/snapshots`, {});
    await json("POST", `/v1/snapshots/${snap.id}/fork`, { names: [name] });
  });
}

export function Actions({ s, compact }: { s: SandboxInfo; compact?: boolean }) {
  const running = s.state === "running";
  const btn = (label: string, onClick: () => void, cls = "") => h("button", { class: `btn ${cls}`, onClick, title: label, "data-action": label.toLowerCase() }, label);
  return h(
    "div",
    { class: "actions" },
    !compact && btn("Terminal", () => go(`/sandboxes/${s.id}/terminal`), "primary"),
    running
      ? btn("Sleep", () => act(`${s.id} is asleep`, () => call("POST", `${sbx(s.id)}/sleep`, {})))
      : btn("Wake", () => act(`${s.id} is awake`, () => call("PUT", sbx(s.id), {}))),
    btn("Snapshot", () => act(`Snapshot of ${s.id} taken`, () => call("POST", `${sbx(s.id)}/snapshots`, {}))),
    btn("Fork", () => void snapshotAndFork(s.id)),
    btn(
      "Destroy",
      () => {
        if (confirm(`Destroy ${s.id}? Its processes, disk and name go.`)) void act(`${s.id} destroyed`, () => call("DELETE", sbx(s.id)));
      },
      "danger",
    ),
  );
}

function CreateForm() {
  const [name, setName] = useState("");
  const [image, setImage] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await json("PUT", sbx(name.trim()), image.trim() ? { image: image.trim() } : {});
      notify(`${name} is running`);
      setName("");
    } catch (err) {
      failed(err);
    } finally {
      setBusy(false);
    }
  };
  return h(
    "form",
    { class: "create", onSubmit: submit },
    h("input", { name: "id", placeholder: "new-sandbox-name", value: name, required: true, pattern: "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", title: "lowercase letters, digits and hyphens", onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
    h("input", { name: "image", placeholder: "image (default)", value: image, onInput: (e: Event) => setImage((e.target as HTMLInputElement).value) }),
    h("button", { class: "btn primary", type: "submit", disabled: busy }, busy ? "Creating…" : "Create sandbox"),
  );
}

function UsageCell({ u }: { u?: { cpuPct?: number; memoryBytes: number } }) {
  if (!u) return h("td", { class: "mono small muted", "data-usage": "" }, "–");
  const pct = u.cpuPct === undefined ? "…" : `${u.cpuPct < 10 ? u.cpuPct.toFixed(1) : Math.round(u.cpuPct)}%`;
  return h("td", { class: "mono small", "data-usage": "", "data-cpu": u.cpuPct === undefined ? "" : u.cpuPct.toFixed(1) }, h("span", { class: "usage-cpu", title: "CPU: a share of one core over the last 3 s" }, pct), h("div", { class: "muted" }, bytes(u.memoryBytes)));
}

export function SandboxList() {
  const { list, live } = useSandboxes();
  const usage = useRunningUsage();
  const now = useTick();
  const running = list.filter((s) => s.state === "running").length;
  return h(
    "section",
    { class: "page" },
    h(
      "header",
      { class: "page-head" },
      h("div", null, h("h1", null, "Sandboxes"), h("p", { class: "muted" }, `${list.length} total · ${running} running · ${list.length - running} sleeping`)),
      h("span", { class: `live ${live ? "on" : ""}`, title: live ? "updating live" : "reconnecting" }, live ? "Live" : "Connecting…"),
    ),
    h(CreateForm, null),
    list.length === 0
      ? h(Empty, null, "No sandboxes yet. Create one above, or from code: ", h("code", null, 'burrow.sandbox("my-agent")'))
      : h(
          "table",
          { class: "table sandboxes" },
          h("thead", null, h("tr", null, ["Name", "State", "Image", "Last activity", "CPU · Memory", "Limits", ""].map((t) => h("th", { key: t }, t)))),
          h(
            "tbody",
            null,
            list.map((s) =>
              h(
                "tr",
                { key: s.id, "data-sandbox": s.id },
                h("td", null, h(Link, { href: `/sandboxes/${s.id}`, class: "name" }, s.id), Object.keys(s.labels).length ? h("div", { class: "labels" }, Object.entries(s.labels).map(([k, v]) => h("span", { key: k, class: "label" }, `${k}=${v}`))) : null),
                h("td", null, h(Badge, { state: s.state })),
                h("td", { class: "mono" }, s.image),
                h("td", { title: s.lastActiveAt }, ago(s.lastActiveAt, now), h("div", { class: "muted small" }, s.keepAlive ? "kept awake" : `sleeps after ${duration(s.sleepAfter)} idle`)),
                h(UsageCell, { u: s.state === "running" ? usage.get(s.id) : undefined }),
                h("td", { class: "mono small" }, `${s.limits.cpus} CPU · ${s.limits.memoryMB} MB`, h("div", { class: "muted" }, `${s.limits.pids} pids`)),
                h("td", { class: "row-actions-cell" }, h(Actions, { s })),
              ),
            ),
          ),
        ),
  );
}
