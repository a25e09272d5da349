import type { SandboxInfo } from "../contract/index.js";

export type FeedEvent = { type: "changed"; sandbox: SandboxInfo } | { type: "removed"; id: string };

/**
 * Changes to the sandbox list, for pages that show it live. The manager has no
 * change events of its own, so one poller (running only while someone
 * listens) compares the list every `intervalMs` and tells every listener what
 * changed: a few hundred sandboxes cost well under a millisecond per look.
 */
export class SandboxFeed {
  private readonly listeners = new Set<(e: FeedEvent) => void>();
  private last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly list: () => SandboxInfo[],
    private readonly intervalMs = 250,
  ) {}

  /** The list as it is now, then every change until the returned function is called. */
  subscribe(listener: (e: FeedEvent) => void): { current: SandboxInfo[]; stop: () => void } {
    const current = this.list();
    if (!this.timer) {
      this.last = new Map(current.map((s) => [s.id, JSON.stringify(s)]));
      this.timer = setInterval(() => this.look(), this.intervalMs);
      this.timer.unref();
    }
    this.listeners.add(listener);
    return {
      current,
      stop: () => {
        this.listeners.delete(listener);
        if (!this.listeners.size && this.timer) {
          clearInterval(this.timer);
          this.timer = undefined;
        }
      },
    };
  }

  private look(): void {
    let now: SandboxInfo[];
    try {
      now = this.list();
    } catch {
      return; // shutting down
    }
    const next = new Map<string, string>();
    const events: FeedEvent[] = [];
    for (const s of now) {
      const text = JSON.stringify(s);
      next.set(s.id, text);
      if (this.last.get(s.id) !== text) events.push({ type: "changed", sandbox: s });
    }
    for (const id of this.last.keys()) if (!next.has(id)) events.push({ type: "removed", id });
    this.last = next;
    for (const e of events) for (const l of this.listeners) l(e);
  }
}
