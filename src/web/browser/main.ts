import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { AgentsView } from "./agents-view.js";
import { signOut } from "./api.js";
import { SandboxList } from "./list.js";
import { SandboxPage, TABS, type TabName } from "./sandbox-page.js";
import { ServerView } from "./server-view.js";
import { Snapshots } from "./snapshots-view.js";
import { h, Link, Notices } from "./ui.js";

function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return path;
}

function Route({ path }: { path: string }) {
  const m = /^\/sandboxes\/([a-z0-9-]+)(?:\/([a-z]+))?$/.exec(path);
  if (m) {
    const tab = (TABS as readonly string[]).includes(m[2] ?? "") ? (m[2] as TabName) : "terminal";
    return h(SandboxPage, { key: m[1], id: m[1]!, tab });
  }
  if (path === "/server") return h(ServerView, null);
  if (path === "/agents") return h(AgentsView, null);
  if (path === "/snapshots") return h("section", { class: "page" }, h("header", { class: "page-head" }, h("h1", null, "Snapshots")), h(Snapshots, { sandboxId: undefined }));
  return h(SandboxList, null);
}

function App() {
  const path = usePath();
  const section = path.startsWith("/server") ? "server" : path.startsWith("/snapshots") ? "snapshots" : path.startsWith("/agents") ? "agents" : "sandboxes";
  useEffect(() => {
    const m = /^\/sandboxes\/([a-z0-9-]+)/.exec(path);
    document.title = m ? `${m[1]} · Burrow` : `${section[0]!.toUpperCase()}${section.slice(1)} · Burrow`;
  }, [path]);
  return h(
    "div",
    { class: "shell" },
    h(
      "aside",
      { class: "side" },
      h(Link, { href: "/", class: "brand" }, h("img", { src: "/assets/favicon.svg", alt: "", width: 24, height: 24 }), h("span", null, "Burrow")),
      h(
        "nav",
        { class: "side-nav" },
        h(Link, { href: "/", class: section === "sandboxes" ? "active" : "" }, "Sandboxes"),
        h(Link, { href: "/snapshots", class: section === "snapshots" ? "active" : "" }, "Snapshots"),
        h(Link, { href: "/agents", class: section === "agents" ? "active" : "" }, "Agents"),
        h(Link, { href: "/server", class: section === "server" ? "active" : "" }, "Server"),
      ),
      h("div", { class: "side-foot" }, h("button", { class: "btn ghost", onClick: signOut, "data-action": "sign-out" }, "Sign out")),
    ),
    h("main", { class: "main" }, h(Route, { path })),
    h(Notices, null),
  );
}

render(h(App, null), document.getElementById("app")!);
