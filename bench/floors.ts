/**
 * The floors the agents and files figures are measured against, each in a
 * process of its own as the Burrow server is: `ws` answering the agents
 * protocol's least (identity on connect, each RPC answered at once), and a
 * bare Node HTTP server that stores a PUT body in a file and serves it on GET.
 * Run as `node --import tsx bench/floors.ts ws|http`; prints its port.
 */
import { createServer } from "node:http";
import { createReadStream, createWriteStream, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { WebSocketServer } from "ws";

const kind = process.argv[2];
const server = createServer({ highWaterMark: 1024 * 1024 });
if (kind === "ws") {
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws, req) => {
    const [, , agent, name] = (req.url ?? "").split("?")[0]!.split("/");
    ws.send(JSON.stringify({ type: "cf_agent_identity", name, agent }));
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { type: string; id: string };
      if (msg.type === "rpc") ws.send(JSON.stringify({ type: "rpc", id: msg.id, success: true, done: true, result: 1 }));
    });
  });
} else {
  const dir = mkdtempSync(join(tmpdir(), "burrow-floor-"));
  server.on("request", (req, res) => {
    const file = join(dir, "f.bin");
    if (req.method === "PUT") {
      pipeline(req, createWriteStream(file, { highWaterMark: 1024 * 1024 })).then(
        () => res.end(JSON.stringify({ size: statSync(file).size })),
        () => res.destroy(),
      );
    } else {
      res.writeHead(200, { "content-length": statSync(file).size });
      void pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), res).catch(() => {});
    }
  });
}
server.listen(0, "127.0.0.1", () => console.log((server.address() as { port: number }).port));
