import { randomBytes } from "node:crypto";
import type { TestServer } from "../test/helpers/server.js";
import { nodeFetch } from "../src/lib/node-fetch.js";
import { startFloor } from "./floor-process.js";
import { median, ms, report, samples } from "./stats.js";

/**
 * 10 MiB through the files API (write, then read to the end) beside the
 * same bytes PUT to and GET from a bare Node HTTP server on loopback that
 * keeps them in a file, with the SDK's own HTTP client: the floor, measured
 * in the same run, interleaved.
 */
export async function benchFiles(srv: TestServer): Promise<void> {
  console.log("\n## Files");
  const payload = randomBytes(10 * 1024 * 1024);
  const sbx = srv.burrow.sandbox(`file-${Math.random().toString(36).slice(2, 8)}`);
  await sbx.writeFile("/workspace/warm.bin", payload);
  const floor = await startFloor("http");
  try {
    const url = `http://127.0.0.1:${floor.port}/f.bin`;
    const drain = async (body: ReadableStream<Uint8Array> | null) => {
      for await (const _ of (body ?? []) as unknown as AsyncIterable<Uint8Array>) { /* drain */ }
    };
    // The same HTTP client as the SDK's in Node (node:http, kept-alive), so the ratio is the server's part alone.
    const floorFetch = nodeFetch();
    const floorPut = () => floorFetch(url, { method: "PUT", body: payload }).then((r) => drain(r.body));
    const floorGet = () => floorFetch(url).then((r) => drain(r.body));
    await floorPut();
    await floorGet();
    const writes: number[] = [];
    const floorWrites: number[] = [];
    const reads: number[] = [];
    const floorReads: number[] = [];
    for (let i = 0; i < 15; i++) {
      floorWrites.push(...(await samples(1, floorPut)));
      writes.push(...(await samples(1, () => sbx.writeFile("/workspace/ten.bin", payload))));
      floorReads.push(...(await samples(1, floorGet)));
      reads.push(...(await samples(1, async () => drain(await sbx.readFileStream("/workspace/ten.bin")))));
    }
    const ratio = (a: number[], b: number[]) => median(a) / median(b);
    report("write a 10 MiB file through the API, p50", `${ms(median(writes))} (floor ${ms(median(floorWrites))}, x${ratio(writes, floorWrites).toFixed(1)})`, "<= 2x the floor", "Cloudflare runtime 64 ms", ratio(writes, floorWrites) <= 2);
    report("read a 10 MiB file through the API, p50", `${ms(median(reads))} (floor ${ms(median(floorReads))}, x${ratio(reads, floorReads).toFixed(1)})`, "<= 2x the floor", "Cloudflare runtime 47 ms", ratio(reads, floorReads) <= 2);
  } finally {
    floor.stop();
    await sbx.destroy();
  }
}
