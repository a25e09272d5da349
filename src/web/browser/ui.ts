import { h, type ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

export { h };

/** "3 s ago", "5 min ago", "2 h ago", or the date. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

export function duration(s: number): string {
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

/** Re-render every `ms` (for "... ago" labels). */
export function useTick(ms = 5000): number {
  const [t, setT] = useState(Date.now());
  useEffect(() => {
    const i = setInterval(() => setT(Date.now()), ms);
    return () => clearInterval(i);
  }, [ms]);
  return t;
}

type Notice = { kind: "error" | "info"; text: string; id: number };
let notices: Notice[] = [];
const noticeListeners = new Set<(n: Notice[]) => void>();
let nextNotice = 1;

/** Say something in the corner for a few seconds (errors from the API, mostly). */
export function notify(text: string, kind: Notice["kind"] = "info"): void {
  const n = { kind, text, id: nextNotice++ };
  notices = [...notices, n];
  for (const l of noticeListeners) l(notices);
  setTimeout(() => {
    notices = notices.filter((x) => x !== n);
    for (const l of noticeListeners) l(notices);
  }, kind === "error" ? 8000 : 3000);
}

export function failed(err: unknown): void {
  const e = err as { code?: string; message?: string };
  notify(e.code ? `${e.code}: ${e.message}` : String(e.message ?? err), "error");
}

export function Notices() {
  const [list, setList] = useState(notices);
  useEffect(() => {
    noticeListeners.add(setList);
    return () => void noticeListeners.delete(setList);
  }, []);
  return h("div", { class: "notices", "aria-live": "polite" }, list.map((n) => h("div", { key: n.id, class: `notice ${n.kind}`, role: n.kind === "error" ? "alert" : "status" }, n.text)));
}

export function Badge({ state }: { state: string }) {
  return h("span", { class: `badge state-${state}` }, h("span", { class: "dot" }), state);
}

export function Empty({ children }: { children?: ComponentChildren }) {
  return h("div", { class: "empty" }, children);
}

/** Navigate inside the app without a reload. */
export function go(path: string): void {
  history.pushState(null, "", path);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function Link({ href, children, class: cls }: { href: string; children?: ComponentChildren; class?: string }) {
  return h(
    "a",
    {
      href,
      class: cls,
      onClick: (e: MouseEvent) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        go(href);
      },
    },
    children,
  );
}
