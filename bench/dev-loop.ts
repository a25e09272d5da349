import { spawn } from "node:child_process";
import { request } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestServer } from "../test/helpers/server.js";
import { median, ms, report } from "./stats.js";

const uid = () => Math.random().toString(36).slice(2, 8);
const loopback = (_h: string, o: { all?: boolean }, cb: (e: null, a: unknown, f?: number) => void) =>
  o?.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4);

/** GET a URL (any host name goes to loopback); resolves at the first byte and at the end. */
function fetchTimed(url: string): Promise<{ firstByte: number; total: number; bytes: number }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { lookup: loopback as never, agent: false }, (res) => {
      let first = 0;
      let bytes = 0;
      res.on("data", (d: Buffer) => {
        if (!first) first = performance.now() - t;
        bytes += d.length;
      });
      res.on("end", () => resolve({ firstByte: first, total: performance.now() - t, bytes }));
    })
      .on("error", reject)
      .end();
  });
}

const SERVER = "import http.server, socketserver, sys, os\nos.chdir(sys.argv[2])\nclass S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True\nclass H(http.server.SimpleHTTPRequestHandler):\n    def log_message(self, *a): pass\nS(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n";

export async function benchDevLoop(srv: TestServer): Promise<void> {
  console.log("\n## Dev loop: processes, preview URLs, watching");
  const sbx = srv.burrow.sandbox(`dev-${uid()}`);
  await sbx.writeFile("/workspace/serve.py", SERVER);
  await sbx.exec("mkdir -p /workspace/www && echo small > /workspace/www/small.txt && head -c 52428800 /dev/urandom > /workspace/www/big.bin");

  // startProcess -> waitForPort -> first byte through the preview URL
  const chain: number[] = [];
  for (let i = 0; i < 8; i++) {
    const port = 9000 + i;
    const { url } = await sbx.exposePort(port);
    const t = performance.now();
    const p = await sbx.startProcess(`python3 /workspace/serve.py ${port} /workspace/www`);
    await p.waitForPort(port);
    await fetchTimed(`${url}small.txt`);
    chain.push(performance.now() - t);
    await p.kill("SIGKILL");
  }
  report("startProcess -> waitForPort -> first byte via preview URL, p50", ms(median(chain)), "-", "includes python3 start (~60 ms)");

  // How soon waitForPort answers after the port starts listening (the listener prints the time it listened).
  const react: number[] = [];
  const listener = "import socket, time\ntime.sleep(0.3)\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', 9100)); s.listen()\nprint(time.time_ns() // 1000, flush=True)\ntime.sleep(30)\n";
  await sbx.writeFile("/workspace/listen.py", listener);
  for (let i = 0; i < 10; i++) {
    const p = await sbx.startProcess("python3 /workspace/listen.py");
    await p.waitForPort(9100);
    const readyAt = Date.now() * 1000;
    const { line } = await p.waitForLog(/^\d+$/);
    react.push((readyAt - Number(line)) / 1000);
    await p.kill("SIGKILL");
  }
  report("port starts listening -> waitForPort returns, p50", ms(median(react)), "<= 20 ms", "Cloudflare 118 ms (polls at >= 100 ms)", median(react) <= 20);

  // Preview proxy against a direct loopback connection to the same server program on the host.
  const hostDir = mkdtempSync(join(tmpdir(), "burrow-bench-"));
  writeFileSync(join(hostDir, "serve.py"), SERVER);
  writeFileSync(join(hostDir, "small.txt"), "small\n");
  const big = await sbx.readFileStream("/workspace/www/big.bin");
  const chunks: Buffer[] = [];
  for await (const c of big as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  writeFileSync(join(hostDir, "big.bin"), Buffer.concat(chunks));
  const hostSrv = spawn("/usr/bin/python3", [join(hostDir, "serve.py"), "9200", hostDir], { stdio: "ignore" });
  const inSbx = await sbx.startProcess("python3 /workspace/serve.py 9200 /workspace/www");
  await inSbx.waitForPort(9200);
  const { url } = await sbx.exposePort(9200);
  await new Promise((r) => setTimeout(r, 500));
  const direct = "http://127.0.0.1:9200/";
  for (let i = 0; i < 20; i++) {
    await fetchTimed(`${url}small.txt`);
    await fetchTimed(`${direct}small.txt`);
  }
  const viaPreview: number[] = [];
  const viaDirect: number[] = [];
  for (let i = 0; i < 100; i++) {
    viaPreview.push((await fetchTimed(`${url}small.txt`)).total);
    viaDirect.push((await fetchTimed(`${direct}small.txt`)).total);
  }
  report("small GET via preview URL vs direct loopback, p50", `${ms(median(viaPreview))} vs ${ms(median(viaDirect))} (+${ms(median(viaPreview) - median(viaDirect))}, x${(median(viaPreview) / median(viaDirect)).toFixed(2)})`, "-");
  const tp = async (u: string) => {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetchTimed(`${u}big.bin`);
      xs.push(r.bytes / 1048576 / (r.total / 1000));
    }
    return median(xs);
  };
  const tpPreview = await tp(url);
  const tpDirect = await tp(direct);
  report("50 MiB download via preview URL vs direct loopback", `${tpPreview.toFixed(0)} vs ${tpDirect.toFixed(0)} MiB/s (x${(tpPreview / tpDirect).toFixed(2)})`, "-");
  hostSrv.kill();
  await inSbx.kill("SIGKILL");

  // Watch: a file written through the API -> its event at the watcher.
  await sbx.mkdir("/workspace/watched", { recursive: true });
  const ctl = new AbortController();
  const seen = new Map<string, number>();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const loop = (async () => {
    try {
      for await (const e of sbx.watch("/workspace/watched", { signal: ctl.signal })) {
        if (e.type === "watching") ready();
        else seen.set(e.path, performance.now());
      }
    } catch {
      /* aborted */
    }
  })();
  await isReady;
  const lat: number[] = [];
  for (let i = 0; i < 20; i++) {
    const path = `/workspace/watched/f${i}.txt`;
    const t = performance.now();
    await sbx.writeFile(path, "x");
    while (!seen.has(path)) await new Promise((r) => setTimeout(r, 1));
    lat.push(seen.get(path)! - t);
  }
  ctl.abort();
  await loop;
  report("file saved through the API -> watch event, p50", ms(median(lat)), "<= 100 ms", "", median(lat) <= 100);
  await sbx.destroy();
}
