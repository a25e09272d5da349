/** One status line that rewrites itself on a terminal and prints plainly otherwise. */
export function progressLine(label: string): { update(line: string): void; done(line?: string): void } {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  const stamp = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
  let last = 0;
  return {
    update(line) {
      if (tty) {
        const width = (process.stderr.columns ?? 100) - label.length - 10;
        process.stderr.write(`\r\x1b[K${label} ${stamp()} ${line.slice(0, Math.max(10, width))}`);
      } else if (Date.now() - last > 2000) {
        last = Date.now();
        process.stderr.write(`${label} ${stamp()} ${line}\n`);
      }
    },
    done(line = "done") {
      process.stderr.write(`${tty ? "\r\x1b[K" : ""}${label} ${stamp()} ${line}\n`);
    },
  };
}
