import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BurrowError } from "../src/contract/index.js";
import { boundaryOf, readFileParts } from "../src/e2b/multipart.js";

/*
 * The streaming multipart reader behind E2B's multipart uploads. Bodies are
 * made by the platform's own FormData encoder (the one the e2b SDK uses) and
 * fed in chunks split at every offset, so a delimiter cut anywhere, and file
 * bytes that look like the start of one, are both read right.
 */
async function encode(form: FormData): Promise<{ body: Buffer; type: string }> {
  const r = new Response(form);
  return { body: Buffer.from(await r.arrayBuffer()), type: r.headers.get("content-type")! };
}

async function* chunks(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

async function read(body: AsyncIterable<Buffer>, type: string) {
  const got: { field: string; filename: string | undefined; bytes: Buffer }[] = [];
  const count = await readFileParts(body, boundaryOf(type), async (p) => {
    const parts: Buffer[] = [];
    for await (const c of p.body) parts.push(c as Buffer);
    got.push({ field: p.field, filename: p.filename, bytes: Buffer.concat(parts) });
  });
  return { count, got };
}

describe("E2B multipart uploads, read as a stream", () => {
  it("gives each file part's name and exact bytes, wherever the chunks are cut", async () => {
    const tricky = Buffer.concat([Buffer.from("\r\n--"), Buffer.from("\r\n-"), Buffer.alloc(300, 0x2d), Buffer.from([0, 255, 13, 10, 13, 10])]);
    const form = new FormData();
    form.append("file", new Blob([tricky]), "/home/user/a dir/one.bin");
    form.append("note", "a plain field, skipped");
    form.append("file", new Blob(["second\r\n"]), 'we"ird\nname.txt');
    form.append("file", new Blob([]), "empty");
    const { body, type } = await encode(form);
    for (const size of [1, 2, 3, 7, 31, 64, 1000, body.length]) {
      const { count, got } = await read(chunks(body, size), type);
      assert.equal(count, 3, `chunks of ${size}`);
      assert.deepEqual(got.map((g) => g.filename), ["/home/user/a dir/one.bin", 'we"ird\nname.txt', "empty"]);
      assert.ok(got[0]!.bytes.equals(tricky), `chunks of ${size}: the first file's bytes differ`);
      assert.equal(got[1]!.bytes.toString(), "second\r\n");
      assert.equal(got[2]!.bytes.length, 0);
    }
  });

  it("streams a large part at the pace of its reader, without holding it whole", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    const form = new FormData();
    form.append("file", new Blob([big]), "big.bin");
    const { body, type } = await encode(form);
    let seen = 0;
    let largest = 0;
    await readFileParts(chunks(body, 64 * 1024), boundaryOf(type), async (p) => {
      for await (const c of p.body) {
        seen += (c as Buffer).length;
        largest = Math.max(largest, (c as Buffer).length);
        await new Promise((r) => setImmediate(r));
      }
    });
    assert.equal(seen, big.length);
    // A reader that is behind gets what is buffered at once: at most the part stream's two 1 MiB marks and a chunk.
    assert.ok(largest <= 2 * 1024 * 1024 + 128 * 1024, `a piece of ${largest} bytes: the part was gathered, not streamed`);
  });

  it("refuses bodies that are not what their boundary says, with a 400 that says why", async () => {
    const form = new FormData();
    form.append("file", new Blob(["x".repeat(100)]), "f");
    const { body, type } = await encode(form);
    const refused = (re: RegExp) => (err: unknown) => err instanceof BurrowError && err.status === 400 && re.test(err.message);
    await assert.rejects(read(chunks(body.subarray(0, body.length - 10), 16), type), refused(/ends before its closing boundary/));
    await assert.rejects(read(chunks(Buffer.from("no parts at all"), 4), type), refused(/ends before its closing boundary/));
    const b = boundaryOf(type);
    const longHeaders = Buffer.from(`--${b}\r\ncontent-disposition: form-data; name="file"; filename="f"\r\nx-pad: ${"p".repeat(20_000)}`);
    await assert.rejects(read(chunks(longHeaders, 1024), type), refused(/headers run past/));
    assert.throws(() => boundaryOf("multipart/form-data"), refused(/no boundary/));
    assert.equal(boundaryOf('multipart/form-data; boundary="a b"'), "a b");
  });

  it("stops at a reader's error and passes it on", async () => {
    const form = new FormData();
    form.append("file", new Blob([Buffer.alloc(4 * 1024 * 1024)]), "f1");
    form.append("file", new Blob(["two"]), "f2");
    const { body, type } = await encode(form);
    let calls = 0;
    await assert.rejects(
      readFileParts(chunks(body, 16 * 1024), boundaryOf(type), async (p) => {
        calls++;
        for await (const _ of p.body) throw new Error("disk full");
      }),
      /disk full/,
    );
    assert.equal(calls, 1, "the part after the failed one was still handed out");
  });
});
