import { useEffect, useRef, useState } from "preact/hooks";
import { enc, json } from "./api.js";
import { ago, Empty, failed, h } from "./ui.js";

export interface CallableInfo {
  name: string;
  params: string;
  streaming: boolean;
  description?: string;
}

interface Schedule {
  id: string;
  callback: string;
  payload?: unknown;
  type: "scheduled" | "delayed" | "cron" | "interval";
  /** Next run, epoch seconds. */
  time: number;
  cron?: string;
  intervalSeconds?: number;
}

type Frame = { type: string; state?: unknown; id?: string; success?: boolean; result?: unknown; error?: string; done?: boolean };

/** "in 5 min", "in 3 s", "due now". */
function until(epochSeconds: number, now: number): string {
  const s = Math.round(epochSeconds - now / 1000);
  if (s <= 0) return "due now";
  return `in ${ago(new Date(now - s * 1000).toISOString(), now).replace(" ago", "")}`;
}

function every(s: Schedule): string {
  if (s.type === "cron") return `cron ${s.cron}`;
  if (s.type === "interval") return `every ${s.intervalSeconds! % 3600 === 0 ? `${s.intervalSeconds! / 3600} h` : s.intervalSeconds! % 60 === 0 ? `${s.intervalSeconds! / 60} min` : `${s.intervalSeconds} s`}`;
  return "once";
}

/** The instance's schedules (`GET /v1/agents/:class/instances/:name`), read again whenever `version` changes. */
function Schedules({ cls, name, version }: { cls: string; name: string; version: number }) {
  const [list, setList] = useState<Schedule[] | undefined>();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const load = () =>
      json<{ schedules: Schedule[] }>("GET", `/v1/agents/${enc(cls)}/instances/${enc(name)}`)
        .then((r) => (setList(r.schedules), setNow(Date.now())))
        .catch((err: { code?: string }) => (err.code === "AGENT_NOT_FOUND" ? setList([]) : failed(err)));
    void load();
    const i = setInterval(load, 5000);
    return () => clearInterval(i);
  }, [cls, name, version]);
  return h(
    "div",
    { class: "panel", "data-agent-schedules": "" },
    h("div", { class: "panel-head" }, h("span", null, "Schedules"), h("span", { class: "small" }, list ? `${list.length}` : "")),
    !list
      ? h(Empty, null, "Loading…")
      : list.length === 0
        ? h("div", { class: "panel-note muted small" }, "Nothing scheduled.")
        : h(
            "table",
            { class: "table flat" },
            h("thead", null, h("tr", null, ["Callback", "When", "Next run", "Payload"].map((t) => h("th", { key: t }, t)))),
            h(
              "tbody",
              null,
              list.map((s) =>
                h(
                  "tr",
                  { key: s.id, "data-schedule": s.callback },
                  h("td", { class: "mono" }, s.callback),
                  h("td", { class: "small" }, every(s)),
                  h("td", { class: "small", title: new Date(s.time * 1000).toISOString() }, until(s.time, now)),
                  h("td", { class: "mono small" }, s.payload === undefined ? "" : JSON.stringify(s.payload)),
                ),
              ),
            ),
          ),
  );
}

/**
 * One agent instance, live: the page connects to `/agents/<class>/<name>` with
 * the agents protocol (as `AgentClient` does), shows each state it is sent,
 * lists its schedules, and calls its callable methods over RPC.
 */
export function Instance({ cls, name, methods }: { cls: string; name: string; methods: CallableInfo[] }) {
  const [state, setState] = useState<unknown>(undefined);
  const [status, setStatus] = useState("connecting");
  const [updates, setUpdates] = useState(0);
  const [method, setMethod] = useState("");
  const [args, setArgs] = useState("[]");
  const [calls, setCalls] = useState<{ id: string; text: string; ok?: boolean }[]>([]);
  const [answered, setAnswered] = useState(0);
  const ws = useRef<WebSocket>();
  const argsField = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const sock = new WebSocket(`${location.origin.replace(/^http/, "ws")}/agents/${enc(cls)}/${enc(name)}`);
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
        setAnswered((n) => n + 1); // a call may have scheduled something
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
  const pick = (m: CallableInfo) => {
    setMethod(m.name);
    setArgs("[]");
    argsField.current?.focus();
  };
  return h(
    "div",
    { class: "agent-instance" },
    h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("span", null, "State of ", h("span", { class: "mono" }, `${cls}/${name}`)), h("span", { class: `small state-${status === "open" ? "running" : "sleeping"}` }, `${status} · ${updates} update${updates === 1 ? "" : "s"}`)), h("pre", { class: "viewer-text", "data-agent-state": "" }, state === undefined ? "(no state yet)" : JSON.stringify(state, null, 2))),
    h(Schedules, { cls, name, version: updates + answered }),
    h(
      "div",
      { class: "panel" },
      h("div", { class: "panel-head" }, h("span", null, "Call a method"), h("span", { class: "small" }, "pick one, give its arguments as a JSON array")),
      h(
        "div",
        { class: "methods" },
        methods.length === 0 && h("span", { class: "muted small" }, "This class has no @callable() methods."),
        methods.map((m) =>
          h(
            "button",
            { key: m.name, type: "button", class: `method ${m.name === method ? "active" : ""}`, "data-method": m.name, title: m.description ?? (m.streaming ? "streams its answer" : ""), onClick: () => pick(m) },
            h("span", { class: "mono" }, `${m.name}(${m.params})`),
            m.streaming && h("span", { class: "chip-note" }, "stream"),
          ),
        ),
      ),
      h(
        "form",
        { class: "create call-form", onSubmit: call },
        h("input", { name: "method", class: "mono", placeholder: "method", value: method, required: true, onInput: (e: Event) => setMethod((e.target as HTMLInputElement).value) }),
        h("input", { name: "args", ref: argsField, class: "mono grow", placeholder: "[arguments as JSON]", value: args, onInput: (e: Event) => setArgs((e.target as HTMLInputElement).value) }),
        h("button", { class: "btn primary", type: "submit", disabled: status !== "open" }, "Call"),
      ),
    ),
    calls.length > 0 && h("div", { class: "panel" }, h("div", { class: "panel-head" }, "Calls"), h("pre", { class: "logs", "data-agent-calls": "" }, calls.map((c) => h("div", { key: c.id, class: c.ok === false ? "stderr" : "" }, c.text)))),
  );
}
