import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import type { AgentStorage } from "./storage.js";
import { messageOf, report } from "../observability/channels.js";

/** Seconds from now, a Date, or a cron expression. */
export type ScheduleWhen = number | Date | string;

export interface Schedule<T = unknown> {
  id: string;
  callback: string;
  payload: T;
  type: "delayed" | "scheduled" | "cron" | "interval";
  /** When it runs next, epoch seconds. */
  time: number;
  cron?: string;
  intervalSeconds?: number;
}

interface Row {
  id: string;
  callback: string;
  payload: string | null;
  type: Schedule["type"];
  time: number;
  cron: string | null;
  interval_s: number | null;
  attempts: number;
  running_since: number | null;
}

/** A run that has not finished after this long is considered hung and may run again. */
const HUNG_AFTER_S = 600;
/** One-shot schedules whose callback keeps throwing are dropped after this many tries. */
const MAX_ATTEMPTS = 6;

const now = () => Math.floor(Date.now() / 1000);
/** Epoch seconds at least `seconds` from now: times are whole seconds, so round up, never early. */
const after = (seconds: number) => Math.ceil(Date.now() / 1000 + seconds);
// cron-parser (with luxon, ~350 KB) is required on the first cron schedule, not at every server start.
let cron: typeof import("cron-parser") | undefined;
const cronParser = () => (cron ??= createRequire(import.meta.url)("cron-parser") as typeof import("cron-parser"));
const nextCron = (expr: string, from = new Date()) => Math.floor(cronParser().CronExpressionParser.parse(expr, { currentDate: from }).next().toDate().getTime() / 1000);

const toSchedule = (r: Row): Schedule => ({
  id: r.id,
  callback: r.callback,
  payload: r.payload === null ? undefined : JSON.parse(r.payload),
  type: r.type,
  time: r.time,
  ...(r.cron ? { cron: r.cron } : {}),
  ...(r.interval_s ? { intervalSeconds: r.interval_s } : {}),
});

/**
 * An agent's schedules, stored in its own SQLite file so they survive
 * restarts. The host is told the next due time after every change, keeps a
 * machine-wide index of those times, and wakes the agent when one is due.
 */
export class Scheduler {
  constructor(
    private readonly storage: AgentStorage,
    private readonly onNextTime: (time: number | undefined) => void,
  ) {}

  private rows(): Row[] {
    return this.storage.db.prepare("SELECT * FROM _burrow_schedules ORDER BY time, created_at").all() as Row[];
  }

  schedule<T>(when: ScheduleWhen, callback: string, payload?: T): Schedule<T> {
    const p = payload === undefined ? null : JSON.stringify(payload);
    if (typeof when === "string") {
      try {
        nextCron(when);
      } catch {
        throw new Error(`"${when}" is not a cron expression (five fields: minute hour day month weekday)`);
      }
      // Cron schedules are idempotent: the same expression, callback and payload are one schedule.
      const same = this.rows().find((r) => r.type === "cron" && r.cron === when && r.callback === callback && r.payload === p);
      if (same) return toSchedule(same) as Schedule<T>;
      return this.insert({ callback, payload: p, type: "cron", time: nextCron(when), cron: when }) as Schedule<T>;
    }
    if (when instanceof Date) {
      if (Number.isNaN(when.getTime())) throw new Error("schedule: the Date is invalid");
      return this.insert({ callback, payload: p, type: "scheduled", time: Math.floor(when.getTime() / 1000) }) as Schedule<T>;
    }
    if (typeof when !== "number" || !Number.isFinite(when) || when < 0) throw new Error("schedule: give seconds (>= 0), a Date or a cron string");
    return this.insert({ callback, payload: p, type: "delayed", time: after(when) }) as Schedule<T>;
  }

  every<T>(seconds: number, callback: string, payload?: T): Schedule<T> {
    if (!Number.isFinite(seconds) || seconds < 1) throw new Error("scheduleEvery: seconds must be at least 1");
    const p = payload === undefined ? null : JSON.stringify(payload);
    // Calling it again (from onStart, say, on every start) does not add a second one.
    const same = this.rows().find((r) => r.type === "interval" && r.interval_s === Math.round(seconds) && r.callback === callback && r.payload === p);
    if (same) return toSchedule(same) as Schedule<T>;
    return this.insert({ callback, payload: p, type: "interval", time: after(Math.round(seconds)), interval_s: Math.round(seconds) }) as Schedule<T>;
  }

  private insert(r: { callback: string; payload: string | null; type: Schedule["type"]; time: number; cron?: string; interval_s?: number }): Schedule {
    const id = randomBytes(8).toString("hex");
    this.storage.db
      .prepare("INSERT INTO _burrow_schedules (id, callback, payload, type, time, cron, interval_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, r.callback, r.payload, r.type, r.time, r.cron ?? null, r.interval_s ?? null, Date.now());
    this.notify();
    return this.get(id)!;
  }

  list(): Schedule[] {
    return this.rows().map(toSchedule);
  }

  get(id: string): Schedule | undefined {
    const r = this.storage.db.prepare("SELECT * FROM _burrow_schedules WHERE id = ?").get(id) as Row | undefined;
    return r ? toSchedule(r) : undefined;
  }

  cancel(id: string): boolean {
    const n = this.storage.db.prepare("DELETE FROM _burrow_schedules WHERE id = ?").run(id).changes;
    this.notify();
    return n > 0;
  }

  nextTime(): number | undefined {
    const r = this.storage.db.prepare("SELECT MIN(time) AS t FROM _burrow_schedules").get() as { t: number | null };
    return r.t ?? undefined;
  }

  notify(): void {
    this.onNextTime(this.nextTime());
  }

  /** Run what is due, one at a time; a throwing callback is retried with backoff and keeps its schedule. */
  async runDue(invoke: (callback: string, payload: unknown, schedule: Schedule) => Promise<void>): Promise<void> {
    const t = now();
    const due = (this.storage.db.prepare("SELECT * FROM _burrow_schedules WHERE time <= ? ORDER BY time").all(t) as Row[]).filter(
      (r) => r.running_since === null || t - r.running_since > HUNG_AFTER_S,
    );
    for (const r of due) {
      const db = this.storage.db;
      db.prepare("UPDATE _burrow_schedules SET running_since = ? WHERE id = ?").run(now(), r.id);
      try {
        await invoke(r.callback, r.payload === null ? undefined : JSON.parse(r.payload), toSchedule(r));
        if (r.type === "cron") db.prepare("UPDATE _burrow_schedules SET time = ?, attempts = 0, running_since = NULL WHERE id = ?").run(nextCron(r.cron!), r.id);
        else if (r.type === "interval") db.prepare("UPDATE _burrow_schedules SET time = ?, attempts = 0, running_since = NULL WHERE id = ?").run(after(r.interval_s!), r.id);
        else db.prepare("DELETE FROM _burrow_schedules WHERE id = ?").run(r.id);
      } catch (err) {
        const attempts = r.attempts + 1;
        report("warn", "agent.schedule_failed", `schedule ${r.id} (${r.callback}) failed, attempt ${attempts}: ${messageOf(err)}`, { schedule: r.id, callback: r.callback, attempts });
        if ((r.type === "delayed" || r.type === "scheduled") && attempts >= MAX_ATTEMPTS) db.prepare("DELETE FROM _burrow_schedules WHERE id = ?").run(r.id);
        else {
          const backoff = Math.min(2 ** attempts, 300);
          const next = r.type === "cron" ? Math.min(nextCron(r.cron!), after(backoff)) : after(backoff);
          db.prepare("UPDATE _burrow_schedules SET time = ?, attempts = ?, running_since = NULL WHERE id = ?").run(next, attempts, r.id);
        }
      }
    }
    this.notify();
  }
}
