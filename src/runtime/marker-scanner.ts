/** Record separator: every end-of-command marker starts with it. */
export const RS = "\x1e";

/**
 * Finds an end-of-command marker in one output stream (sessions and code
 * contexts print one after each command). Text before the marker is passed
 * on as it arrives; a tail that could be the start of a marker split across
 * reads is held back until the next read.
 */
export class MarkerScanner {
  private held = "";

  /** `maxMarker`: the longest a marker can be, so longer tails are not held. */
  constructor(private readonly maxMarker: number) {}

  /** The text safe to pass on now, and the marker's match once it has arrived (what follows it is dropped). */
  push(data: string, marker: RegExp): { text: string; match?: RegExpExecArray } {
    const all = this.held + data;
    const match = marker.exec(all);
    if (match) {
      this.held = "";
      return { text: all.slice(0, match.index), match };
    }
    const at = all.lastIndexOf(RS);
    const text = at >= 0 && all.length - at < this.maxMarker ? all.slice(0, at) : all;
    this.held = all.slice(text.length);
    return { text };
  }

  /** What is held back (when the process ends without a marker). */
  flush(): string {
    const h = this.held;
    this.held = "";
    return h;
  }
}
