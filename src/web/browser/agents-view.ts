import { useEffect, useState } from "preact/hooks";
import { Instance, type CallableInfo } from "./agent-instance.js";
import { enc, json } from "./api.js";
import { ago, Empty, failed, h, useTick } from "./ui.js";

interface AgentClassInfo {
  name: string;
  live: number;
  methods: CallableInfo[];
}

interface InstanceSummary {
  name: string;
  live: boolean;
  connections: number;
  lastActiveAt: string;
}

/** The open instance is in the address (`/agents?class=<c>&name=<n>`), so it can be shared and survives a reload. */
function fromAddress(): { cls: string; name: string } | undefined {
  const q = new URLSearchParams(location.search);
  const cls = q.get("class");
  const name = q.get("name");
  return cls && name ? { cls, name } : undefined;
}

/** A class's instances (`GET /v1/agents/:class/instances`), refreshed every few seconds. */
function Instances({ cls, open, onOpen }: { cls: string; open?: string; onOpen: (name: string) => void }) {
  const [list, setList] = useState<{ instances: InstanceSummary[]; total: number; unnamed: number } | undefined>();
  const now = useTick(3000);
  useEffect(() => {
    setList(undefined);
    const load = () => json<{ instances: InstanceSummary[]; total: number; unnamed: number }>("GET", `/v1/agents/${enc(cls)}/instances`).then(setList).catch(failed);
    void load();
    const i = setInterval(load, 3000);
    return () => clearInterval(i);
  }, [cls]);
  if (!list) return h(Empty, null, "Loading…");
  if (list.instances.length === 0) return h(Empty, null, `No instance of ${cls} yet. Open one by name above, or connect to `, h("code", null, `/agents/${cls}/<name>`), ".");
  return h(
    "div",
    null,
    h(
      "table",
      { class: "table instances" },
      h("thead", null, h("tr", null, ["Instance", "In memory", "Connections", "Last activity", ""].map((t) => h("th", { key: t }, t)))),
      h(
        "tbody",
        null,
        list.instances.map((i) =>
          h(
            "tr",
            { key: i.name, "data-instance": i.name, class: i.name === open ? "selected" : "" },
            h("td", null, h("a", { href: `/agents?class=${enc(cls)}&name=${enc(i.name)}`, class: "name", onClick: (e: MouseEvent) => (e.preventDefault(), onOpen(i.name)) }, i.name)),
            h("td", null, h("span", { class: `badge state-${i.live ? "running" : "sleeping"}` }, h("span", { class: "dot" }), i.live ? "live" : "stored")),
            h("td", { class: "mono small", "data-connections": String(i.connections) }, String(i.connections)),
            h("td", { class: "small", title: i.lastActiveAt }, ago(i.lastActiveAt, now)),
            h("td", { class: "row-actions" }, h("button", { class: "btn", onClick: () => onOpen(i.name) }, i.name === open ? "Viewing" : "View")),
          ),
        ),
      ),
    ),
    (list.total > list.instances.length || list.unnamed > 0) &&
      h("p", { class: "muted small" }, list.total > list.instances.length ? `Showing ${list.instances.length} of ${list.total}, most recent first. ` : "", list.unnamed > 0 ? `${list.unnamed} more have names outside letters, digits, ".", "_" and "-" (or longer than 80): open them by name.` : ""),
  );
}

/** The agent classes this server hosts, a class's instances, and one instance opened live. */
export function AgentsView() {
  const [classes, setClasses] = useState<AgentClassInfo[] | undefined>();
  const first = fromAddress();
  const [cls, setCls] = useState(first?.cls ?? "");
  const [name, setName] = useState("");
  const [open, setOpen] = useState<{ cls: string; name: string } | undefined>(first);
  useEffect(() => {
    json<{ classes: AgentClassInfo[] }>("GET", "/v1/agents")
      .then((r) => {
        setClasses(r.classes);
        setCls((c) => c || r.classes[0]?.name || "");
      })
      .catch(failed);
  }, []);
  const show = (c: string, n: string) => {
    setOpen({ cls: c, name: n });
    history.replaceState(null, "", `/agents?class=${enc(c)}&name=${enc(n)}`);
  };
  const chosen = classes?.find((c) => c.name === cls);
  return h(
    "section",
    { class: "page" },
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Agents"), h("p", { class: "muted" }, "Durable agents this server hosts. Open an instance to watch its state live, see its schedules and call its methods."))),
    !classes
      ? h(Empty, null, "Loading…")
      : classes.length === 0
        ? h(Empty, null, "This server hosts no agents. Start it with ", h("code", null, "burrow serve --agents my-agents.ts"), ".")
        : h(
            "div",
            null,
            h(
              "nav",
              { class: "tabs agent-classes" },
              classes.map((c) =>
                h("a", { key: c.name, href: "#", class: `tab ${c.name === cls ? "active" : ""}`, "data-class": c.name, onClick: (e: Event) => (e.preventDefault(), setCls(c.name)) }, c.name, h("span", { class: "count" }, `${c.methods.length} method${c.methods.length === 1 ? "" : "s"}`)),
              ),
            ),
            h(
              "form",
              { class: "create", onSubmit: (e: Event) => (e.preventDefault(), show(cls, name.trim())) },
              h("input", { name: "instance", placeholder: `open or start a ${cls} by name`, value: name, required: true, onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
              h("button", { class: "btn primary", type: "submit" }, "Open"),
            ),
            h(Instances, { cls, open: open?.cls === cls ? open.name : undefined, onOpen: (n) => show(cls, n) }),
            open && h(Instance, { key: `${open.cls}/${open.name}`, cls: open.cls, name: open.name, methods: classes.find((c) => c.name === open.cls)?.methods ?? chosen?.methods ?? [] }),
          ),
  );
}
