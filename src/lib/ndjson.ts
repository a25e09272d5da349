/**
 * The lines of a newline-delimited JSON stream, parsed, as they arrive.
 * Blank lines are skipped; a last line without its newline is not a record.
 */
export async function* ndjson<T = Record<string, unknown>>(from: AsyncIterable<Buffer | string>): AsyncGenerator<T> {
  let buf = "";
  for await (const chunk of from) {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
}
