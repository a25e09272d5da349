import { useEffect, useRef, useState } from "preact/hooks";
import { json } from "./api.js";
import { Empty, failed, h } from "./ui.js";

interface AgentClassInfo {
  name: string;
}

type Frame = { type: string; state?: unknown; id?: string; success?: boolean; result?: unknown; error?: string; done?: boolean; name?: string };

const RECENT = "burrow.agents.recent";

/**
 * One agent instance, live: the page connects to `/agents/<class>/<name>` with
 * the agents protocol (as `AgentClient` does), shows each state it is sent,
 * and calls methods over RPC.
 */
function Instance({ cls, name }: { cls: string; name: string }) {
  const [state, setState] = useState<unknown>(undefined);
  const [status, setStatus] = useState("connecting");
  const [updates, setUpdates] = useState(0);
  const [method, setMethod] = useState("");
  const [args, setArgs] = useState("[]");
  const [calls, setCalls] = useState<{ id: string; text: string; ok?: boolean }[]>([]);
  const ws = useRef<WebSocket>();
  useEffect(() => {
    const sock = new WebSocket(`${location.origin.replace(/^http/, "ws")}/agents/${encodeURIComponent(cls)}/${encodeURIComponent(name)}`);
    ws.current = sock;
    sock.onopen = () => setStatus("open");
    sock.onclose = () => setStatus("closed");
    sock.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      let f: Frame;
      try {
        f = JSON.parse(ev.data) as Frame;
      } catch {
        return;
      }
      if (f.type === "cf_agent_state") {
        setState(f.state);
        setUpdates((n) => n + 1);
      } else if (f.type === "rpc" && f.id) {
        const text = f.success ? JSON.stringify(f.result) : `error: ${f.error}`;
        if (f.done === false) return;
        setCalls((c) => c.map((x) => (x.id === f.id ? { ...x, text: `${x.text} → ${text}`, ok: f.success } : x)));
      }
    };
    return () => sock.close();
  }, [cls, name]);
  const call = (e: Event) => {
    e.preventDefault();
    let list: unknown;
    try {
      list = JSON.parse(args || "[]");
      if (!Array.isArray(list)) throw new Error("arguments are a JSON array, like [1, \"a\"]");
    } catch (err) {
      return failed(err);
    }
    const id = Math.random().toString(36).slice(2);
    setCalls((c) => [{ id, text: `${method}(${(list as unknown[]).map((a) => JSON.stringify(a)).join(", ")})` }, ...c].slice(0, 20));
    ws.current?.send(JSON.stringify({ type: "rpc", id, method, args: list }));
  };
  return h(
    "div",
    { class: "agent-instance" },
    h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("span", null, "State of ", h("span", { class: "mono" }, `${cls}/${name}`)), h("span", { class: `small state-${status === "open" ? "running" : "sleeping"}` }, `${status} · ${updates} update${updates === 1 ? "" : "s"}`)), h("pre", { class: "viewer-text", "data-agent-state": "" }, state === undefined ? "(no state yet)" : JSON.stringify(state, null, 2))),
    h(
      "form",
      { class: "create", onSubmit: call },
      h("input", { name: "method", class: "mono", placeholder: "method", value: method, required: true, onInput: (e: Event) => setMethod((e.target as HTMLInputElement).value) }),
      h("input", { name: "args", class: "mono grow", placeholder: "[arguments as JSON]", value: args, onInput: (e: Event) => setArgs((e.target as HTMLInputElement).value) }),
      h("button", { class: "btn primary", type: "submit", disabled: status !== "open" }, "Call"),
    ),
    calls.length > 0 && h("div", { class: "panel" }, h("div", { class: "panel-head" }, "Calls"), h("pre", { class: "logs", "data-agent-calls": "" }, calls.map((c) => h("div", { key: c.id, class: c.ok === false ? "stderr" : "" }, c.text)))),
  );
}

/** The agent classes this server hosts, and one instance opened by name. */
export function AgentsView() {
  const [classes, setClasses] = useState<AgentClassInfo[] | undefined>();
  const [cls, setCls] = useState("");
  const [name, setName] = useState("");
  const [open, setOpen] = useState<{ cls: string; name: string } | undefined>();
  const [recent, setRecent] = useState<{ cls: string; name: string }[]>(() => {
    try {
      return JSON.parse(localStorage.getItem(RECENT) ?? "[]");
    } catch {
      return [];
    }
  });
  useEffect(() => {
    json<{ classes: AgentClassInfo[] }>("GET", "/v1/agents")
      .then((r) => {
        setClasses(r.classes);
        if (r.classes[0]) setCls(r.classes[0].name);
      })
      .catch(failed);
  }, []);
  const show = (c: string, n: string) => {
    setOpen({ cls: c, name: n });
    const next = [{ cls: c, name: n }, ...recent.filter((r) => r.cls !== c || r.name !== n)].slice(0, 8);
    setRecent(next);
    localStorage.setItem(RECENT, JSON.stringify(next));
  };
  return h(
    "section",
    { class: "page" },
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Agents"), h("p", { class: "muted" }, "Durable agents this server hosts. Open an instance by name to watch its state live and call its methods."))),
    !classes
      ? h(Empty, null, "Loading…")
      : classes.length === 0
        ? h(Empty, null, "This server hosts no agents. Start it with ", h("code", null, "burrow serve --agents my-agents.ts"), ".")
        : h(
            "div",
            null,
            h(
              "form",
              { class: "create", onSubmit: (e: Event) => (e.preventDefault(), show(cls, name)) },
              h("select", { name: "class", value: cls, onChange: (e: Event) => setCls((e.target as HTMLSelectElement).value) }, classes.map((c) => h("option", { key: c.name, value: c.name }, c.name))),
              h("input", { name: "instance", placeholder: "instance name", value: name, required: true, onInput: (e: Event) => setName((e.target as HTMLInputElement).value) }),
              h("button", { class: "btn primary", type: "submit" }, "Open"),
            ),
            recent.length > 0 && h("div", { class: "labels recent" }, "Recent: ", recent.map((r) => h("a", { key: `${r.cls}/${r.name}`, href: "#", class: "label", onClick: (e: Event) => (e.preventDefault(), show(r.cls, r.name)) }, `${r.cls}/${r.name}`))),
            open && h(Instance, { key: `${open.cls}/${open.name}`, cls: open.cls, name: open.name }),
          ),
  );
}
