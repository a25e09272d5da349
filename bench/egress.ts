import { execFile } from "node:child_process";
import { createServer as createHttps, type Server as HttpsServer } from "node:https";
import { createServer as createHttp, type Server as HttpServer } from "node:http";
import { join } from "node:path";
import { makeTestPki } from "../test/helpers/tls.js";
import { startTestServer } from "../test/helpers/server.js";
import { median, ms, report } from "./stats.js";

const N = 200;
const BIG = 64 * 1024 * 1024;

/** curl fetching one URL n times over one connection; prints each request's total time (s). */
const curlTimes = (url: string, n: number, extra: string[]) => [
  "-s", ...extra, "-w", "%{time_total}\\n", ...Array.from({ length: n }, () => ["-o", "/dev/null", url]).flat(),
];
const parseTimes = (out: string) => out.trim().split("\n").slice(1).map((t) => Number(t) * 1000); // the first includes connecting

/** Proxy throughput and added latency, with and without TLS interception, against a direct connection from the host. */
export async function benchEgress(): Promise<void> {
  console.log("\n## Egress proxy");
  const pki = makeTestPki();
  const big = Buffer.alloc(BIG, 1);
  const handler = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
    if (req.url === "/big") {
      res.writeHead(200, { "content-length": big.length });
      return res.end(big);
    }
    res.writeHead(200, { "content-length": 2 });
    res.end("ok");
  };
  const https: HttpsServer = createHttps({ key: pki.key, cert: pki.cert }, handler);
  const http: HttpServer = createHttp(handler);
  const port = (s: HttpServer | HttpsServer) => new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as { port: number }).port)));
  const [sPort, hPort] = [await port(https), await port(http)];
  const srv = await startTestServer({
    args: ["--config", join(import.meta.dirname, "../test/fixtures/egress-config.ts")],
    env: { TEST_API_SECRET: "bench", TEST_GIT_SECRET: "bench", TEST_S3_SECRET: "bench", NODE_EXTRA_CA_CERTS: pki.caFile },
  });
  try {
    const tunnel = srv.burrow.sandbox("egress-tunnel");
    const intercept = srv.burrow.sandbox("egress-intercept");
    const sHost = `host.burrow.internal:${sPort}`;
    const hHost = `host.burrow.internal:${hPort}`;
    await tunnel.setEgress({ allowedHosts: [sHost, hHost] });
    await intercept.setEgress({ allowedHosts: [sHost], byHost: { [sHost]: "api" } });
    // Async: the upstream servers run in this very process.
    const host = (args: string[]) =>
      new Promise<string>((resolve, reject) => execFile("curl", args, { encoding: "utf8", maxBuffer: 1 << 24 }, (err, out) => (err ? reject(err) : resolve(out))));
    const inside = async (sbx: typeof tunnel, args: string[]) => (await sbx.exec(["curl", ...args], { timeoutMs: 300_000 })).stdout;

    const rows: [string, number[], number[]][] = [
      ["HTTP GET", parseTimes(await host(curlTimes(`http://127.0.0.1:${hPort}/`, N, []))), parseTimes(await inside(tunnel, curlTimes(`http://${hHost}/`, N, [])))],
      ["HTTPS GET, tunnelled", parseTimes(await host(curlTimes(`https://127.0.0.1:${sPort}/`, N, ["--cacert", pki.caFile]))), parseTimes(await inside(tunnel, curlTimes(`https://${sHost}/`, N, ["-k"])))],
      ["HTTPS GET, intercepted by a handler", parseTimes(await host(curlTimes(`https://127.0.0.1:${sPort}/`, N, ["--cacert", pki.caFile]))), parseTimes(await inside(intercept, curlTimes(`https://${sHost}/`, N, [])))],
    ];
    for (const [label, direct, proxied] of rows) {
      const d = median(direct);
      const p = median(proxied);
      report(`${label} through the proxy, p50 (keep-alive)`, `${ms(p)} vs ${ms(d)} direct`, "-", `+${ms(p - d)}, x${(p / d).toFixed(1)}`);
    }
    const speed = (out: string) => Number(out.trim()) / 1048576;
    const thr: [string, number, number][] = [
      ["HTTP", speed(await host(["-s", "-o", "/dev/null", "-w", "%{speed_download}", `http://127.0.0.1:${hPort}/big`])), speed(await inside(tunnel, ["-s", "-o", "/dev/null", "-w", "%{speed_download}", `http://${hHost}/big`]))],
      ["HTTPS tunnelled", speed(await host(["-s", "--cacert", pki.caFile, "-o", "/dev/null", "-w", "%{speed_download}", `https://127.0.0.1:${sPort}/big`])), speed(await inside(tunnel, ["-sk", "-o", "/dev/null", "-w", "%{speed_download}", `https://${sHost}/big`]))],
      ["HTTPS intercepted", speed(await host(["-s", "--cacert", pki.caFile, "-o", "/dev/null", "-w", "%{speed_download}", `https://127.0.0.1:${sPort}/big`])), speed(await inside(intercept, ["-s", "-o", "/dev/null", "-w", "%{speed_download}", `https://${sHost}/big`]))],
    ];
    for (const [label, d, p] of thr) report(`${label} download throughput through the proxy (64 MiB)`, `${p.toFixed(0)} vs ${d.toFixed(0)} MiB/s direct`, "-", `x${(p / d).toFixed(2)}`);
  } finally {
    await srv.cleanup();
    https.close();
    http.close();
    pki.cleanup();
  }
}
