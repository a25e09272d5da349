import { useEffect, useState } from "preact/hooks";
import { call, json, sbx, type PortInfo } from "./api.js";
import { Empty, failed, h, notify } from "./ui.js";

/** Exposed ports and their preview links (another origin: they never see the dashboard's session). */
export function Ports({ sandboxId }: { sandboxId: string }) {
  const [ports, setPorts] = useState<PortInfo[] | undefined>();
  const [port, setPort] = useState("");
  const refresh = () => json<{ ports: PortInfo[] }>("GET", `${sbx(sandboxId)}/ports`).then((r) => setPorts(r.ports)).catch(failed);
  useEffect(() => void refresh(), [sandboxId]);
  const expose = async (e: Event) => {
    e.preventDefault();
    try {
      await call("POST", `${sbx(sandboxId)}/ports/${Number(port)}`, {});
      setPort("");
      notify(`Port ${port} exposed`);
      await refresh();
    } catch (err) {
      failed(err);
    }
  };
  const unexpose = async (p: number) => {
    try {
      await call("DELETE", `${sbx(sandboxId)}/ports/${p}`);
      await refresh();
    } catch (err) {
      failed(err);
    }
  };
  return h(
    "div",
    null,
    h(
      "form",
      { class: "create", onSubmit: expose },
      h("input", { name: "port", type: "number", min: 1, max: 65535, placeholder: "8000", value: port, required: true, onInput: (e: Event) => setPort((e.target as HTMLInputElement).value) }),
      h("button", { class: "btn primary", type: "submit" }, "Expose port"),
    ),
    !ports
      ? h(Empty, null, "Loading…")
      : ports.length === 0
        ? h(Empty, null, "No exposed ports. A server listening inside the sandbox gets a preview URL when its port is exposed.")
        : h(
            "table",
            { class: "table" },
            h("thead", null, h("tr", null, ["Port", "Name", "Preview URL", ""].map((t) => h("th", { key: t }, t)))),
            h(
              "tbody",
              null,
              ports.map((p) =>
                h(
                  "tr",
                  { key: p.port, "data-port": p.port },
                  h("td", { class: "mono" }, String(p.port)),
                  h("td", null, p.name ?? ""),
                  h("td", null, h("a", { href: p.url, target: "_blank", rel: "noopener noreferrer", class: "mono small" }, p.url)),
                  h("td", { class: "row-actions" }, h("button", { class: "btn danger", onClick: () => unexpose(p.port) }, "Unexpose")),
                ),
              ),
            ),
          ),
  );
}
