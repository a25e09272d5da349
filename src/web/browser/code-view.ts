import { useEffect, useState } from "preact/hooks";
import { call, json, sbx } from "./api.js";
import { Empty, failed, h } from "./ui.js";

interface ContextInfo {
  id: string;
  language: string;
  cwd: string;
}
interface Execution {
  results: Record<string, unknown>[];
  logs: { stdout: string; stderr: string };
  error?: { name: string; message: string; traceback: string };
  executionCount: number;
}

/**
 * A result's representations. What the sandbox made is never put into this
 * page as markup: HTML shows as its source, pictures go through <img> (an SVG
 * there runs no script).
 */
function Result({ r }: { r: Record<string, unknown> }) {
  for (const [k, mime] of [["png", "image/png"], ["jpeg", "image/jpeg"]] as const)
    if (typeof r[k] === "string") return h("img", { class: "viewer-img", src: `data:${mime};base64,${r[k]}`, alt: "result" });
  if (typeof r.svg === "string") return h("img", { class: "viewer-img", src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(r.svg)}`, alt: "result" });
  const text = typeof r.text === "string" ? r.text : typeof r.html === "string" ? r.html : JSON.stringify(r.json ?? r);
  return h("pre", { class: "viewer-text" }, text);
}

/** Code contexts: persistent interpreters (Python, JavaScript, TypeScript), a cell at a time. */
export function Code({ sandboxId }: { sandboxId: string }) {
  const [contexts, setContexts] = useState<ContextInfo[] | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [language, setLanguage] = useState("python");
  const [code, setCode] = useState("");
  const [running, setRunning] = useState(false);
  const [out, setOut] = useState<Execution | undefined>();
  const refresh = () =>
    json<{ contexts: ContextInfo[] }>("GET", `${sbx(sandboxId)}/contexts`)
      .then((r) => {
        setContexts(r.contexts);
        setSelected((s) => s ?? r.contexts[0]?.id);
      })
      .catch(failed);
  useEffect(() => void refresh(), [sandboxId]);
  const create = async () => {
    try {
      const c = await json<ContextInfo>("POST", `${sbx(sandboxId)}/contexts`, { language });
      setSelected(c.id);
      await refresh();
    } catch (err) {
      failed(err);
    }
  };
  const remove = async (id: string) => {
    try {
      await call("DELETE", `${sbx(sandboxId)}/contexts/${id}`);
      if (selected === id) setSelected(undefined);
      await refresh();
    } catch (err) {
      failed(err);
    }
  };
  const run = async (e: Event) => {
    e.preventDefault();
    if (!selected) return;
    setRunning(true);
    try {
      setOut(await json<Execution>("POST", `${sbx(sandboxId)}/contexts/${selected}/run`, { code }));
    } catch (err) {
      failed(err);
    } finally {
      setRunning(false);
    }
  };
  return h(
    "div",
    null,
    h(
      "div",
      { class: "toolbar" },
      h(
        "div",
        { class: "actions" },
        (contexts ?? []).map((c) =>
          h("span", { key: c.id, class: `term-tab ${c.id === selected ? "active" : ""}`, onClick: () => setSelected(c.id) }, `${c.language} · ${c.id}`, h("button", { class: "x", title: "delete", onClick: (e: Event) => (e.stopPropagation(), void remove(c.id)) }, "×")),
        ),
      ),
      h(
        "div",
        { class: "actions" },
        h("select", { value: language, onChange: (e: Event) => setLanguage((e.target as HTMLSelectElement).value) }, ["python", "javascript", "typescript"].map((l) => h("option", { key: l, value: l }, l))),
        h("button", { class: "btn", onClick: create }, "New context"),
      ),
    ),
    !contexts
      ? h(Empty, null, "Loading…")
      : !selected
        ? h(Empty, null, "No code context yet. Create one to run cells whose state lasts, like a notebook.")
        : h(
            "form",
            { onSubmit: run },
            h("textarea", { class: "code-input mono", rows: 6, value: code, placeholder: "import math\nmath.pi * 2", onInput: (e: Event) => setCode((e.target as HTMLTextAreaElement).value) }),
            h("div", { class: "toolbar" }, h("span", { class: "muted small" }, "The last expression is the cell's result."), h("button", { class: "btn primary", type: "submit", disabled: running }, running ? "Running…" : "Run cell")),
          ),
    out &&
      h(
        "div",
        { class: "panel" },
        h("div", { class: "panel-head" }, `Out [${out.executionCount}]`),
        out.logs.stdout && h("pre", { class: "logs" }, out.logs.stdout),
        out.logs.stderr && h("pre", { class: "logs" }, h("span", { class: "stderr" }, out.logs.stderr)),
        out.results.map((r, i) => h(Result, { key: i, r })),
        out.error && h("pre", { class: "logs" }, h("span", { class: "stderr" }, `${out.error.name}: ${out.error.message}\n${out.error.traceback}`)),
      ),
  );
}
