import { createServer } from "node:http";

/**
 * `--metrics-port`: /metrics without the token, bound to 127.0.0.1 only, so a
 * Prometheus on the same machine can scrape without holding the admin token.
 */
export async function startMetricsPort(port: number, text: () => Promise<{ body: string; contentType: string }>): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics is served here\n");
      return;
    }
    text().then(
      ({ body, contentType }) => res.writeHead(200, { "content-type": contentType }).end(body),
      (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
