import { useEffect, useState } from "preact/hooks";
import { json } from "./api.js";
import { failed, h } from "./ui.js";

/** The server at a glance, from `GET /v1/status`. */
export function ServerView() {
  const [status, setStatus] = useState<Record<string, unknown> | undefined>();
  useEffect(() => {
    const load = () => json<Record<string, unknown>>("GET", "/v1/status").then(setStatus).catch(failed);
    void load();
    const i = setInterval(load, 3000);
    return () => clearInterval(i);
  }, []);
  const n = (k: string) => (typeof status?.[k] === "number" ? String(status[k]) : "–");
  const total = Number(status?.sandboxes ?? 0);
  const running = Number(status?.running ?? 0);
  return h(
    "section",
    { class: "page" },
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Server"), h("p", { class: "muted" }, location.host))),
    h(
      "div",
      { class: "cards" },
      [
        ["Sandboxes", n("sandboxes")],
        ["Running", n("running")],
        ["Sleeping", status ? String(total - running) : "–"],
        ["Warm pool", n("pooled")],
      ].map(([k, v]) => h("div", { key: k, class: "card" }, h("div", { class: "card-label" }, k), h("div", { class: "card-value" }, v))),
    ),
    status && h("div", { class: "panel" }, h("div", { class: "panel-head" }, "GET /v1/status"), h("pre", { class: "viewer-text" }, JSON.stringify(status, null, 2))),
  );
}
