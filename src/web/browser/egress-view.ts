import { useEffect, useState } from "preact/hooks";
import type { EgressAuditEvent } from "../../contract/index.js";
import { json, sbx } from "./api.js";
import { EgressEditor, type EgressPolicy } from "./egress-rules.js";
import { ago, bytes, Empty, failed, h } from "./ui.js";


/** The sandbox's outbound rules (editable) and its newest outbound connections. */
export function Egress({ sandboxId }: { sandboxId: string }) {
  const [policy, setPolicy] = useState<EgressPolicy>();
  const [events, setEvents] = useState<EgressAuditEvent[] | undefined>();
  useEffect(() => {
    const load = () => {
      json<EgressPolicy>("GET", `${sbx(sandboxId)}/egress`).then(setPolicy).catch(failed);
      json<{ events: EgressAuditEvent[] }>("GET", `${sbx(sandboxId)}/egress/audit?limit=200`).then((r) => setEvents(r.events)).catch(failed);
    };
    load();
    const i = setInterval(load, 3000);
    return () => clearInterval(i);
  }, [sandboxId]);
  return h(
    "div",
    null,
    policy === undefined ? h(Empty, null, "Loading…") : h(EgressEditor, { sandboxId, policy, onSaved: setPolicy }),
    h("h2", { class: "section-title" }, "Outbound connections"),
    !events
      ? h(Empty, null, "Loading…")
      : events.length === 0
        ? h(Empty, null, "No outbound connections yet.")
        : h(
            "table",
            { class: "table" },
            h("thead", null, h("tr", null, ["When", "Decision", "Destination", "Request", "Via", "Bytes out / in"].map((t) => h("th", { key: t }, t)))),
            h(
              "tbody",
              null,
              events.map((e, i) =>
                h(
                  "tr",
                  { key: i },
                  h("td", { class: "small", title: e.at }, ago(e.at)),
                  h("td", null, h("span", { class: `badge ${e.decision === "allowed" ? "state-running" : "state-failed"}` }, h("span", { class: "dot" }), e.decision), e.reason ? h("div", { class: "muted small" }, e.reason) : null),
                  h("td", { class: "mono small" }, `${e.host}:${e.port}`),
                  h("td", { class: "mono small" }, e.method ? `${e.method} ${e.path ?? ""}${e.status ? ` → ${e.status}` : ""}` : ""),
                  h("td", { class: "small" }, e.handler ? `${e.mode} (${e.handler})` : e.mode),
                  h("td", { class: "mono small" }, `${bytes(e.bytesOut)} / ${bytes(e.bytesIn)}`),
                ),
              ),
            ),
          ),
  );
}
