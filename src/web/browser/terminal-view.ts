import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { useEffect, useRef, useState } from "preact/hooks";
import { BurrowTerminalAddon, type TerminalStatus } from "./xterm-addon.js";
import { h } from "./ui.js";

const THEME = {
  background: "#0d1117",
  foreground: "#e6edf3",
  cursor: "#7ee787",
  selectionBackground: "#264f78",
  black: "#484f58",
  red: "#ff7b72",
  green: "#3fb950",
  yellow: "#d29922",
  blue: "#58a6ff",
  magenta: "#bc8cff",
  cyan: "#39c5cf",
  white: "#b1bac4",
};

/** One xterm.js terminal attached to one sandbox terminal; the size follows its box. */
function TerminalPane({ sandboxId, tab, visible, onId }: { sandboxId: string; tab: Tab; visible: boolean; onId: (id: string) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const fit = useRef<FitAddon>();
  const [status, setStatus] = useState<TerminalStatus>("connecting");
  const [exitCode, setExitCode] = useState<number | undefined>();
  useEffect(() => {
    // A steady cursor: a blinking one makes xterm.js ask for a frame on every keystroke, and Chromium then holds
    // the echo's WebSocket message until that frame is drawn, so the echo showed a frame or two later (bench/web.ts).
    const term = new Terminal({ fontFamily: '"DejaVu Sans Mono", "Liberation Mono", Menlo, monospace', fontSize: 13, cursorBlink: false, theme: THEME, scrollback: 5000 });
    const fitter = new FitAddon();
    fit.current = fitter;
    term.loadAddon(fitter);
    term.open(box.current!);
    fitter.fit();
    const addon = new BurrowTerminalAddon({
      url: location.origin,
      sandboxId,
      terminalId: tab.terminalId,
      onStatus: (s, d) => {
        setStatus(s);
        if (d?.terminalId) onId(d.terminalId);
        if (s === "exited") setExitCode(d?.exitCode);
      },
    });
    term.loadAddon(addon);
    term.focus();
    const ro = new ResizeObserver(() => box.current?.offsetParent && fitter.fit());
    ro.observe(box.current!);
    return () => {
      ro.disconnect();
      term.dispose();
    };
  }, [sandboxId, tab.key]);
  useEffect(() => {
    if (visible) fit.current?.fit();
  }, [visible]);
  return h(
    "div",
    { class: "terminal-pane", style: { display: visible ? "flex" : "none" } },
    h("div", { class: "terminal-box", ref: box, "data-terminal": tab.key }),
    h("div", { class: `terminal-status ${status}` }, status === "exited" ? `shell exited (${exitCode ?? 0})` : status === "stopped" ? "sandbox stopped · press a key to wake it" : status),
  );
}

interface Tab {
  key: string;
  title: string;
  terminalId?: string;
}

/** Terminal tabs; their ids are kept for this browser tab, so a reload reattaches and replays. */
export function Terminals({ sandboxId }: { sandboxId: string }) {
  const storeKey = `burrow.terminals.${sandboxId}`;
  const [tabs, setTabs] = useState<Tab[]>(() => {
    try {
      const saved = JSON.parse(sessionStorage.getItem(storeKey) ?? "[]") as Tab[];
      if (saved.length) return saved;
    } catch {
      /* start fresh */
    }
    return [{ key: "t1", title: "shell 1" }];
  });
  const [active, setActive] = useState(tabs[0]!.key);
  useEffect(() => sessionStorage.setItem(storeKey, JSON.stringify(tabs)), [tabs]);
  const add = () => {
    const n = Math.max(0, ...tabs.map((t) => Number(t.key.slice(1)) || 0)) + 1;
    const t = { key: `t${n}`, title: `shell ${n}` };
    setTabs([...tabs, t]);
    setActive(t.key);
  };
  const close = (key: string) => {
    const rest = tabs.filter((t) => t.key !== key);
    if (!rest.length) return;
    setTabs(rest);
    if (active === key) setActive(rest[0]!.key);
  };
  return h(
    "div",
    { class: "terminals" },
    h(
      "div",
      { class: "term-tabs", role: "tablist" },
      tabs.map((t) =>
        h(
          "div",
          { key: t.key, class: `term-tab ${t.key === active ? "active" : ""}`, role: "tab", onClick: () => setActive(t.key) },
          t.title,
          tabs.length > 1 && h("button", { class: "x", title: "close tab (the shell keeps running)", onClick: (e: Event) => (e.stopPropagation(), close(t.key)) }, "×"),
        ),
      ),
      h("button", { class: "term-add", title: "new terminal", onClick: add }, "+"),
    ),
    tabs.map((t) =>
      h(TerminalPane, {
        key: t.key,
        sandboxId,
        tab: t,
        visible: t.key === active,
        onId: (id) => setTabs((all) => all.map((x) => (x.key === t.key && x.terminalId !== id ? { ...x, terminalId: id } : x))),
      }),
    ),
  );
}
