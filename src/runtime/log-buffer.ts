/** One chunk of a process's output, numbered so a reader can resume where it left off. */
export interface LogEntry {
  seq: number;
  stream: "stdout" | "stderr";
  data: string;
  time: number;
}

/**
 * A bounded log: the newest output up to `maxBytes`, with the oldest dropped
 * and the fact counted, and live listeners for readers that follow.
 */
export class LogBuffer {
  private entries: LogEntry[] = [];
  private bytes = 0;
  private nextSeq = 1;
  droppedBytes = 0;
  droppedEntries = 0;
  private readonly listeners = new Set<(e: LogEntry) => void>();

  constructor(private readonly maxBytes = 4 * 1024 * 1024) {}

  push(stream: LogEntry["stream"], data: string): void {
    const e: LogEntry = { seq: this.nextSeq++, stream, data, time: Date.now() };
    this.entries.push(e);
    this.bytes += data.length;
    while (this.bytes > this.maxBytes && this.entries.length > 1) {
      const old = this.entries.shift()!;
      this.bytes -= old.data.length;
      this.droppedBytes += old.data.length;
      this.droppedEntries++;
    }
    for (const l of this.listeners) l(e);
  }

  /** Entries after `seq` (0 for everything still kept). */
  since(seq = 0): LogEntry[] {
    return seq ? this.entries.filter((e) => e.seq > seq) : [...this.entries];
  }

  text(stream: LogEntry["stream"]): string {
    return this.entries.filter((e) => e.stream === stream).map((e) => e.data).join("");
  }

  subscribe(listener: (e: LogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
