import xterm from "@xterm/headless";
import type { TerminalConnection } from "../../src/client/index.js";

/** A headless xterm fed by a terminal connection, so tests read the screen as a person would see it. */
export class Screen {
  readonly term: InstanceType<typeof xterm.Terminal>;

  constructor(conn: TerminalConnection, cols = 80, rows = 24) {
    this.term = new xterm.Terminal({ cols, rows, allowProposedApi: true });
    conn.onData((d) => this.term.write(d));
  }

  /** The visible screen, one string per row, trailing spaces trimmed. */
  lines(): string[] {
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < this.term.rows; i++) out.push(buf.getLine(buf.viewportY + i)?.translateToString(true) ?? "");
    return out;
  }

  text(): string {
    return this.lines().join("\n");
  }

  async waitFor(pattern: RegExp | string, ms = 5000): Promise<string> {
    const t = Date.now();
    for (;;) {
      await new Promise<void>((r) => this.term.write("", r));
      const text = this.text();
      if (typeof pattern === "string" ? text.includes(pattern) : pattern.test(text)) return text;
      if (Date.now() - t > ms) throw new Error(`screen never showed ${pattern}; it shows:\n${text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }
}
