/** Small statistics for benchmark samples (milliseconds). */
export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (s: number[]) => percentile(s, 50);

export async function time<T>(f: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

export async function samples(n: number, f: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await time(() => f(i) as Promise<unknown>));
  return out;
}

const rows: string[][] = [];

/** Record one figure with its target and the peers' figure, for the closing table. */
export function report(figure: string, measured: string, target: string, peers = "", ok?: boolean): void {
  const mark = ok === undefined ? " " : ok ? "✓" : "✗";
  rows.push([mark, figure, measured, target, peers]);
  console.log(`${mark} ${figure}: ${measured}   (target ${target}${peers ? `; peers: ${peers}` : ""})`);
}

export function printTable(): void {
  const head = ["", "figure", "measured", "target", "peers"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log("\n" + line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

export const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
