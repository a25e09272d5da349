import { useRef, useState } from "preact/hooks";
import { json, sbx } from "./api.js";
import { failed, h, notify } from "./ui.js";

/** The sandbox's own settings (what PUT takes): the editor changes only these. */
export interface EgressOwn {
  allowedHosts?: string[];
  deniedHosts?: string[];
  internet?: boolean;
  byHost?: Record<string, string>;
  maxConnections?: number;
  bandwidthKBps?: number | null;
}

/** `GET /v1/sandboxes/:id/egress`: the rules in force (the server's and the sandbox's together), and the sandbox's own. */
export interface EgressPolicy {
  allowedHosts: string[];
  deniedHosts: string[];
  internet: boolean;
  byHost: Record<string, string>;
  maxConnections: number;
  bandwidthKBps: number | null;
  handlers: string[];
  own: EgressOwn;
}

const value = (e: Event) => (e.target as HTMLInputElement).value;

/**
 * One list of host rules: the sandbox's own can be removed, the server's are
 * shown as such (only the server's flags or --config change them).
 */
function HostList({ kind, inForce, own, onChange, verb }: { kind: "allow" | "deny"; inForce: string[]; own: string[]; onChange: (edit: (list: string[]) => string[]) => Promise<boolean>; verb: string }) {
  const [draft, setDraft] = useState("");
  const server = inForce.filter((r) => !own.includes(r));
  const add = async (e: Event) => {
    e.preventDefault();
    const rule = draft.trim();
    if (!rule) return;
    if (own.includes(rule)) return notify(`${rule} is already there`);
    if (await onChange((list) => [...list, rule])) setDraft("");
  };
  return h(
    "div",
    { class: "rule-group", "data-rules": kind },
    h("div", { class: "rule-title" }, kind === "allow" ? "Allowed hosts" : "Denied hosts"),
    h(
      "div",
      { class: "chips" },
      own.length + server.length === 0 && h("span", { class: "muted small" }, kind === "allow" ? "none: only public addresses, if the internet is on" : "none"),
      own.map((r) =>
        h("span", { key: r, class: `chip ${kind}`, "data-rule": r }, h("span", { class: "mono" }, r), h("button", { type: "button", class: "chip-x", title: `Remove ${r}`, "aria-label": `Remove ${r}`, onClick: () => void onChange((list) => list.filter((x) => x !== r)) }, "×")),
      ),
      server.map((r) => h("span", { key: `s:${r}`, class: "chip server", "data-rule": r, title: "set by the server's flags or --config" }, h("span", { class: "mono" }, r), h("span", { class: "chip-note" }, "server"))),
    ),
    h(
      "form",
      { class: "rule-form", onSubmit: add },
      h("input", { name: kind, class: "mono grow", placeholder: kind === "allow" ? "api.example.com, *.example.com, host:port, 10.0.0.0/8" : "*.ads.example, 203.0.113.0/24", value: draft, onInput: (e: Event) => setDraft(value(e)) }),
      h("button", { class: `btn ${kind === "deny" ? "danger" : "primary"}`, type: "submit" }, verb),
    ),
  );
}

/** Requests to a host handled by one of the server's egress handlers (credentials added, answers canned, ...). */
function ByHost({ policy, onChange }: { policy: EgressPolicy; onChange: (edit: (byHost: Record<string, string>) => Record<string, string>) => Promise<boolean> }) {
  const own = policy.own.byHost ?? {};
  const [host, setHost] = useState("");
  const [handler, setHandler] = useState(policy.handlers[0] ?? "");
  const rows = Object.entries(policy.byHost);
  if (policy.handlers.length === 0 && rows.length === 0) return null;
  const bind = async (e: Event) => {
    e.preventDefault();
    if (await onChange((m) => ({ ...m, [host.trim()]: handler }))) setHost("");
  };
  return h(
    "div",
    { class: "rule-group", "data-rules": "by-host" },
    h("div", { class: "rule-title" }, "Handled by"),
    h(
      "div",
      { class: "chips" },
      rows.length === 0 && h("span", { class: "muted small" }, "no host is bound to a handler"),
      rows.map(([hst, name]) =>
        h(
          "span",
          { key: hst, class: `chip ${hst in own ? "allow" : "server"}`, "data-binding": hst },
          h("span", { class: "mono" }, `${hst} → ${name}`),
          hst in own
            ? h("button", { type: "button", class: "chip-x", title: `Unbind ${hst}`, "aria-label": `Unbind ${hst}`, onClick: () => void onChange((m) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== hst))) }, "×")
            : h("span", { class: "chip-note" }, "server"),
        ),
      ),
    ),
    policy.handlers.length > 0 &&
      h(
        "form",
        { class: "rule-form", onSubmit: bind },
        h("input", { name: "bind-host", class: "mono grow", placeholder: "api.example.com[:port]", value: host, required: true, onInput: (e: Event) => setHost(value(e)) }),
        h("select", { name: "handler", value: handler, onChange: (e: Event) => setHandler((e.target as HTMLSelectElement).value) }, policy.handlers.map((n) => h("option", { key: n, value: n }, n))),
        h("button", { class: "btn primary", type: "submit" }, "Bind"),
      ),
  );
}

/** Internet on or off, and the connection and bandwidth limits; an empty field leaves it to the server. */
function Limits({ policy, onChange }: { policy: EgressPolicy; onChange: (edit: (own: EgressOwn) => EgressOwn) => Promise<boolean> }) {
  const own = policy.own;
  const [conns, setConns] = useState(own.maxConnections === undefined ? "" : String(own.maxConnections));
  const [bw, setBw] = useState(own.bandwidthKBps === undefined ? "" : own.bandwidthKBps === null ? "none" : String(own.bandwidthKBps));
  const internet = own.internet === undefined ? "default" : own.internet ? "on" : "off";
  const setInternet = (v: string) =>
    void onChange((latest) => {
      const next = { ...latest };
      if (v === "default") delete next.internet;
      else next.internet = v === "on";
      return next;
    });
  const apply = (e: Event) => {
    e.preventDefault();
    const limits: Pick<EgressOwn, "maxConnections" | "bandwidthKBps"> = {};
    if (conns.trim()) limits.maxConnections = Number(conns);
    if (bw.trim()) limits.bandwidthKBps = bw.trim() === "none" ? null : Number(bw);
    if (Number.isNaN(limits.maxConnections) || Number.isNaN(limits.bandwidthKBps)) return notify("Limits are whole numbers (bandwidth may be \"none\")", "error");
    void onChange((latest) => {
      const next = { ...latest, ...limits };
      if (!("maxConnections" in limits)) delete next.maxConnections;
      if (!("bandwidthKBps" in limits)) delete next.bandwidthKBps;
      return next;
    });
  };
  return h(
    "div",
    { class: "rule-group" },
    h("div", { class: "rule-title" }, "Internet and limits"),
    h(
      "form",
      { class: "rule-form limits", onSubmit: apply },
      h(
        "label",
        { class: "field" },
        h("span", { class: "small muted" }, "Internet"),
        h(
          "select",
          { name: "internet", value: internet, onChange: (e: Event) => setInternet((e.target as HTMLSelectElement).value) },
          h("option", { value: "default" }, `server's default${own.internet === undefined ? ` (${policy.internet ? "on" : "off"})` : ""}`),
          h("option", { value: "on" }, "on: public hosts reachable"),
          h("option", { value: "off" }, "off: only allowed hosts"),
        ),
      ),
      h("label", { class: "field" }, h("span", { class: "small muted" }, "Max connections"), h("input", { name: "maxConnections", type: "number", min: 1, max: 4096, placeholder: String(policy.maxConnections), value: conns, onInput: (e: Event) => setConns(value(e)) })),
      h("label", { class: "field" }, h("span", { class: "small muted" }, "Bandwidth, KB/s"), h("input", { name: "bandwidthKBps", placeholder: policy.bandwidthKBps === null ? "none" : String(policy.bandwidthKBps), value: bw, onInput: (e: Event) => setBw(value(e)) })),
      h("button", { class: "btn", type: "submit" }, "Apply limits"),
    ),
  );
}

/**
 * The sandbox's egress rules, editable: each change replaces the sandbox's own
 * settings (`PUT /v1/sandboxes/:id/egress`) and applies to its next connection.
 */
export function EgressEditor({ sandboxId, policy, onSaved }: { sandboxId: string; policy: EgressPolicy; onSaved: (p: EgressPolicy) => void }) {
  // Saves run one at a time, each applying its edit to what the previous one saved: a change made while
  // another is in flight (a limit applied, then the internet switched) would otherwise send the settings
  // of the last render and undo it.
  const latest = useRef(policy.own);
  const pending = useRef(0);
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  if (!pending.current) latest.current = policy.own;
  const save = (edit: (own: EgressOwn) => EgressOwn, said: string): Promise<boolean> => {
    pending.current++;
    const run = queue.current.then(async () => {
      try {
        const saved = await json<EgressPolicy>("PUT", `${sbx(sandboxId)}/egress`, edit(latest.current));
        latest.current = saved.own;
        onSaved(saved);
        notify(said);
        return true;
      } catch (err) {
        failed(err);
        return false;
      } finally {
        pending.current--;
      }
    });
    queue.current = run;
    return run;
  };
  const own = policy.own;
  return h(
    "div",
    { class: "panel egress-rules" },
    h("div", { class: "panel-head" }, h("span", null, "Rules"), h("span", { class: "small" }, "deny wins over allow and handlers · changes apply to new connections")),
    h(
      "div",
      { class: "rule-body" },
      h(HostList, { kind: "allow", verb: "Allow", inForce: policy.allowedHosts, own: own.allowedHosts ?? [], onChange: (edit) => save((o) => ({ ...o, allowedHosts: edit(o.allowedHosts ?? []) }), "Allowed hosts saved") }),
      h(HostList, { kind: "deny", verb: "Deny", inForce: policy.deniedHosts, own: own.deniedHosts ?? [], onChange: (edit) => save((o) => ({ ...o, deniedHosts: edit(o.deniedHosts ?? []) }), "Denied hosts saved") }),
      h(ByHost, { policy, onChange: (edit) => save((o) => ({ ...o, byHost: edit(o.byHost ?? {}) }), "Handlers saved") }),
      h(Limits, { key: JSON.stringify([own.internet, own.maxConnections, own.bandwidthKBps]), policy, onChange: (edit) => save(edit, "Egress settings saved") }),
    ),
  );
}
