import { useEffect, useState } from "preact/hooks";
import { json } from "./api.js";
import { ago, bytes, Empty, failed, h, Link } from "./ui.js";

interface ServerInfo {
  version: string;
  node: string;
  startedAt: string;
  uptimeSeconds: number;
  images: { name: string; version: string; source: string; createdAt: string; sizeBytes: number | null; packages: string[]; sandboxes: number; pooled: number }[];
}

const uptime = (s: number) => (s < 3600 ? `${Math.floor(s / 60)} min` : s < 86400 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`);

/** The images sandboxes start from, with how many use each and how many warm containers wait. */
function Images({ info }: { info: ServerInfo }) {
  if (info.images.length === 0) return h(Empty, null, "No image built yet: the default one is built on the first start.");
  return h(
    "table",
    { class: "table images" },
    h("thead", null, h("tr", null, ["Image", "Version", "Size", "Built", "Sandboxes", "Warm pool"].map((t) => h("th", { key: t }, t)))),
    h(
      "tbody",
      null,
      info.images.map((i) =>
        h(
          "tr",
          { key: i.name, "data-image": i.name },
          h("td", null, h("span", { class: "name" }, i.name), h("div", { class: "muted small" }, i.source)),
          h("td", { class: "mono small" }, i.version),
          h("td", { class: "mono small" }, i.sizeBytes === null ? "–" : bytes(i.sizeBytes)),
          h("td", { class: "small", title: i.createdAt }, ago(i.createdAt)),
          h("td", { class: "mono small" }, String(i.sandboxes)),
          h("td", { class: "mono small" }, String(i.pooled)),
        ),
      ),
    ),
  );
}

interface PeriodRow {
  sandbox: string;
  cpuSeconds: number;
  runningSeconds: number;
  egressBytesIn: number;
  egressBytesOut: number;
  memoryPeakBytes: number;
}

const hours = (s: number) => (s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

/** The server at a glance (`GET /v1/status`) and what each sandbox used over the last day (`GET /v1/usage`). */
export function ServerView() {
  const [status, setStatus] = useState<Record<string, unknown> | undefined>();
  const [usage, setUsage] = useState<PeriodRow[] | undefined>();
  const [info, setInfo] = useState<ServerInfo | undefined>();
  useEffect(() => {
    const load = () => {
      json<Record<string, unknown>>("GET", "/v1/status").then(setStatus).catch(failed);
      json<ServerInfo>("GET", "/v1/server").then(setInfo).catch(failed);
      json<{ sandboxes: PeriodRow[] }>("GET", "/v1/usage")
        .then((r) => setUsage([...r.sandboxes].sort((a, b) => b.cpuSeconds - a.cpuSeconds)))
        .catch(() => setUsage([]));
    };
    load();
    const i = setInterval(load, 5000);
    return () => clearInterval(i);
  }, []);
  const n = (k: string) => (typeof status?.[k] === "number" ? String(status[k]) : "–");
  const total = Number(status?.sandboxes ?? 0);
  const running = Number(status?.running ?? 0);
  return h(
    "section",
    { class: "page" },
    h("header", { class: "page-head" }, h("div", null, h("h1", null, "Server"), h("p", { class: "muted", "data-server-about": "" }, info ? `${location.host} · Burrow ${info.version} on Node ${info.node} · up ${uptime(info.uptimeSeconds)}, since ${new Date(info.startedAt).toLocaleString()}` : location.host))),
    h(
      "div",
      { class: "cards" },
      [
        ["Version", info?.version ?? "–"],
        ["Uptime", info ? uptime(info.uptimeSeconds) : "–"],
        ["Sandboxes", n("sandboxes")],
        ["Running", n("running")],
        ["Sleeping", status ? String(total - running) : "–"],
        ["Warm pool", n("pooled")],
      ].map(([k, v]) => h("div", { key: k, class: "card" }, h("div", { class: "card-label" }, k), h("div", { class: "card-value" }, v))),
    ),
    h("h2", { class: "section-title" }, "Images"),
    info ? h(Images, { info }) : h(Empty, null, "Loading…"),
    h("h2", { class: "section-title" }, "Usage, last 24 hours"),
    !usage
      ? h(Empty, null, "Loading…")
      : usage.length === 0
        ? h(Empty, null, "No usage recorded yet.")
        : h(
            "table",
            { class: "table" },
            h("thead", null, h("tr", null, ["Sandbox", "CPU", "Running", "Memory peak", "Egress out / in"].map((t) => h("th", { key: t }, t)))),
            h(
              "tbody",
              null,
              usage.map((u) =>
                h(
                  "tr",
                  { key: u.sandbox },
                  h("td", null, h(Link, { href: `/sandboxes/${u.sandbox}`, class: "name" }, u.sandbox)),
                  h("td", { class: "mono small" }, `${u.cpuSeconds.toFixed(2)} s`),
                  h("td", { class: "small" }, hours(u.runningSeconds)),
                  h("td", { class: "mono small" }, bytes(u.memoryPeakBytes)),
                  h("td", { class: "mono small" }, `${bytes(u.egressBytesOut)} / ${bytes(u.egressBytesIn)}`),
                ),
              ),
            ),
          ),
    status && h("div", { class: "panel" }, h("div", { class: "panel-head" }, "GET /v1/status"), h("pre", { class: "viewer-text" }, JSON.stringify(status, null, 2))),
  );
}
