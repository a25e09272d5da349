import { useEffect, useRef, useState } from "preact/hooks";
import { call, enc, json, sbx, type ProcessInfo } from "./api.js";
import { ago, Badge, Empty, failed, h, notify } from "./ui.js";

function Logs({ sandboxId, proc }: { sandboxId: string; proc: ProcessInfo }) {
  const [lines, setLines] = useState<{ kind: string; text: string }[]>([]);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    setLines([]);
    const es = new EventSource(`${sbx(sandboxId)}/processes/${enc(proc.id)}/logs?follow=true`);
    const add = (kind: string, text: string) => setLines((l) => [...l.slice(-4000), { kind, text }]);
    es.addEventListener("stdout", (e) => add("stdout", JSON.parse((e as MessageEvent).data).data));
    es.addEventListener("stderr", (e) => add("stderr", JSON.parse((e as MessageEvent).data).data));
    es.addEventListener("dropped", (e) => add("meta", `[${JSON.parse((e as MessageEvent).data).message}]\n`));
    es.addEventListener("exit", (e) => {
      const x = JSON.parse((e as MessageEvent).data) as { exitCode: number; status: string };
      add("meta", `[process ${x.status}, exit code ${x.exitCode}]\n`);
      es.close();
    });
    es.addEventListener("error", () => es.close());
    return () => es.close();
  }, [sandboxId, proc.id]);
  useEffect(() => {
    const b = box.current;
    if (b) b.scrollTop = b.scrollHeight;
  }, [lines]);
  return h("pre", { class: "logs", ref: box, "data-logs": proc.id }, lines.map((l, i) => h("span", { key: i, class: l.kind }, l.text)));
}

/** Background processes: start one, follow its logs live, kill it (the whole tree). */
export function Processes({ sandboxId }: { sandboxId: string }) {
  const [procs, setProcs] = useState<ProcessInfo[] | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [command, setCommand] = useState("");
  const refresh = () =>
    json<{ processes: ProcessInfo[] }>("GET", `${sbx(sandboxId)}/processes`)
      .then((r) => setProcs(r.processes.sort((a, b) => b.startedAt.localeCompare(a.startedAt))))
      .catch(failed);
  useEffect(() => {
    void refresh();
    const i = setInterval(refresh, 1500);
    return () => clearInterval(i);
  }, [sandboxId]);
  const start = async (e: Event) => {
    e.preventDefault();
    try {
      const p = await json<ProcessInfo>("POST", `${sbx(sandboxId)}/processes`, { command });
      setCommand("");
      setSelected(p.id);
      await refresh();
    } catch (err) {
      failed(err);
    }
  };
  const kill = async (p: ProcessInfo) => {
    try {
      await call("DELETE", `${sbx(sandboxId)}/processes/${enc(p.id)}`);
      notify(`Killed ${p.id}`);
      await refresh();
    } catch (err) {
      failed(err);
    }
  };
  const current = procs?.find((p) => p.id === selected);
  return h(
    "div",
    { class: "processes" },
    h(
      "form",
      { class: "create", onSubmit: start },
      h("input", { name: "command", class: "mono grow", placeholder: "python3 -m http.server 8000", value: command, required: true, onInput: (e: Event) => setCommand((e.target as HTMLInputElement).value) }),
      h("button", { class: "btn primary", type: "submit" }, "Start process"),
    ),
    !procs
      ? h(Empty, null, "Loading…")
      : procs.length === 0
        ? h(Empty, null, "No processes. Start one above, or with ", h("code", null, "sbx.startProcess(cmd)"), ".")
        : h(
            "table",
            { class: "table" },
            h("thead", null, h("tr", null, ["Id", "Command", "Status", "Started", ""].map((t) => h("th", { key: t }, t)))),
            h(
              "tbody",
              null,
              procs.map((p) =>
                h(
                  "tr",
                  { key: p.id, "data-process": p.id, class: p.id === selected ? "selected" : "", onClick: () => setSelected(p.id) },
                  h("td", { class: "mono small" }, p.id),
                  h("td", { class: "mono" }, p.command),
                  h("td", null, h(Badge, { state: p.status }), p.exitCode !== null ? h("span", { class: "muted small" }, ` exit ${p.exitCode}`) : null),
                  h("td", { class: "small" }, ago(p.startedAt)),
                  h(
                    "td",
                    { class: "row-actions" },
                    h("button", { class: "btn", onClick: () => setSelected(p.id) }, "Logs"),
                    (p.status === "running" || p.status === "starting") && h("button", { class: "btn danger", "data-action": "kill", onClick: (e: Event) => (e.stopPropagation(), void kill(p)) }, "Kill"),
                  ),
                ),
              ),
            ),
          ),
    current && h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("span", null, "Logs of ", h("span", { class: "mono" }, current.id)), h("span", { class: "small" }, "live")), h(Logs, { sandboxId, proc: current })),
  );
}
