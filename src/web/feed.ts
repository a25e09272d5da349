import type { SandboxInfo } from "../contract/index.js";

export type FeedEvent = { type: "changed"; sandbox: SandboxInfo } | { type: "removed"; id: string };

/** Something that says "the list just changed" (the manager's lifecycle channel). */
export interface FeedNudges {
  subscribe(onMessage: (message: unknown) => void): void;
  unsubscribe(onMessage: (message: unknown) => void): unknown;
}

/**
 * Changes to the sandbox list, for pages that show it live. While someone
 * listens, the list is compared with the last one it sent when a nudge says a
 * sandbox was created, woken, put to sleep or destroyed (so a state change
 * reaches pages at once), and every `intervalMs` for what changes without one
 * (last activity, labels, settings); each listener is told what changed. A few
 * hundred sandboxes cost well under a millisecond per look.
 */
export class SandboxFeed {
  private readonly listeners = new Set<(e: FeedEvent) => void>();
  private last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  /** Nudges that come together make one look, after the change that sent them has settled. */
  private readonly nudge = () => {
    this.soon ??= setImmediate(() => {
      this.soon = undefined;
      this.look();
    });
  };

  constructor(
    private readonly list: () => SandboxInfo[],
    private readonly intervalMs = 250,
    private readonly nudges?: FeedNudges,
  ) {}

  /** The list as it is now, then every change until the returned function is called. */
  subscribe(listener: (e: FeedEvent) => void): { current: SandboxInfo[]; stop: () => void } {
    const current = this.list();
    if (!this.timer) {
      this.last = new Map(current.map((s) => [s.id, JSON.stringify(s)]));
      this.timer = setInterval(() => this.look(), this.intervalMs);
      this.timer.unref();
      this.nudges?.subscribe(this.nudge);
    }
    this.listeners.add(listener);
    return {
      current,
      stop: () => {
        this.listeners.delete(listener);
        if (!this.listeners.size && this.timer) {
          clearInterval(this.timer);
          this.timer = undefined;
          this.nudges?.unsubscribe(this.nudge);
          if (this.soon) clearImmediate(this.soon);
          this.soon = undefined;
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
