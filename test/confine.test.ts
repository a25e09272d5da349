import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { mergeLayers } from "../src/confine/index.js";

/*
 * The layer merge that flattens snapshot chains, against overlayfs itself:
 * random layers (links that point out of the tree, whiteouts, opaque
 * directories, names that are not UTF-8) are merged, and the merged layer
 * stacked on a base must look exactly like the original layers stacked on the
 * same base, while nothing outside the layer roots changes.
 */

type Node =
  | { kind: "file"; content: string }
  | { kind: "dir"; opaque: boolean; children: Record<string, Node> }
  | { kind: "link"; target: string }
  | { kind: "whiteout" };

// Names as latin1 strings of bytes: "X\xff" is not UTF-8, "X\xef\xbf\xbd" is what a lossy decoder makes of it.
const NAMES = ["a", "b", "X\xff", "X\xef\xbf\xbd", "etc"];

let canary: string;
const linkTargets = () => [`${canary}/dir`, "../../../../../../../../" + canary.slice(1) + "/dir", "/", "a", "X\xef\xbf\xbd"];

const tree = (depth: number, withMarkers: boolean): fc.Arbitrary<Record<string, Node>> =>
  fc.dictionary(fc.constantFrom(...NAMES), node(depth, withMarkers), { maxKeys: 3 });

const node = (depth: number, withMarkers: boolean): fc.Arbitrary<Node> =>
  fc.oneof(
    fc.record({ kind: fc.constant("file" as const), content: fc.constantFrom("one", "two") }),
    fc.record({ kind: fc.constant("link" as const), target: fc.integer({ min: 0, max: 4 }).map((i) => linkTargets()[i]!) }),
    ...(withMarkers ? [fc.constant({ kind: "whiteout" as const })] : []),
    ...(depth > 0
      ? [fc.record({ kind: fc.constant("dir" as const), opaque: withMarkers ? fc.boolean() : fc.constant(false), children: tree(depth - 1, withMarkers) })]
      : []),
  );

const b = (s: string) => Buffer.from(s, "latin1");

let scratchCount = 0;
/** Build a tree at `root` (bytes). Tools get plain scratch names; Node's fs renames them to the byte names. */
function build(root: Buffer | string, t: Record<string, Node>): void {
  const r = typeof root === "string" ? b(root) : root;
  mkdirSync(r, { recursive: true });
  for (const [name, n] of Object.entries(t)) {
    const p = Buffer.concat([r, b("/"), b(name)]);
    const scratch = join(work, `.scratch-${scratchCount++}`);
    if (n.kind === "file") writeFileSync(p, n.content);
    else if (n.kind === "link") symlinkSync(b(n.target), p);
    else if (n.kind === "whiteout") {
      execFileSync("mknod", [scratch, "c", "0", "0"]);
      renameSync(scratch, p);
    } else {
      mkdirSync(scratch);
      if (n.opaque) execFileSync("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", scratch]);
      renameSync(scratch, p);
      build(p, n.children);
    }
  }
}

/** What a tree looks like: every path (as bytes) with its type and content or target. */
function view(root: string, rel = ""): string[] {
  const out: string[] = [];
  const dir = Buffer.concat([b(root), b(rel)]);
  for (const name of readdirSync(dir, { encoding: "buffer" }).sort(Buffer.compare)) {
    const r = rel + "/" + name.toString("latin1");
    const p = Buffer.concat([b(root), b(r)]);
    // overlayfs may list a whiteout that hides nothing (in a directory no layer below merges into) but
    // never lets it be opened: to a user that name does not exist, so it is left out here too.
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) {
      out.push(`${r}/`);
      out.push(...view(root, r));
    } else if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(p, { encoding: "buffer" }).toString("latin1")}`);
    else if (st.isFile()) out.push(`${r} = ${readFileSync(p, "latin1")}`);
    else out.push(`${r} ?`);
  }
  return out;
}

/** Stack lower layers (top first) read-only with overlayfs and read what it shows. */
function stacked(lowers: string[], mnt: string): string[] {
  mkdirSync(mnt, { recursive: true });
  execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lowers.join(":")}`, mnt]);
  try {
    return view(mnt);
  } finally {
    execFileSync("umount", [mnt]);
  }
}

let work: string;

describe("confined layer merge", () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), "burrow-merge-"));
    canary = mkdtempSync(join(tmpdir(), "burrow-canary-"));
    mkdirSync(`${canary}/dir/subdir`, { recursive: true });
    writeFileSync(`${canary}/dir/victim`, "canary");
    writeFileSync(`${canary}/dir/subdir/x`, "canary");
    for (const n of NAMES) writeFileSync(Buffer.concat([b(`${canary}/dir/`), b(n)]), "canary");
  });
  after(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(canary, { recursive: true, force: true });
  });

  it("merges like overlayfs stacks, and never touches anything outside the layers", async () => {
    const canaryBefore = view(canary);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(tree(2, false), fc.array(tree(2, true), { minLength: 2, maxLength: 3 }), async (base, layers) => {
        const dir = join(work, String(run++));
        build(`${dir}/base`, base);
        layers.forEach((l, i) => build(`${dir}/l${i}`, l));
        mkdirSync(`${dir}/merged`);
        await mergeLayers(layers.map((_, i) => `${dir}/l${i}`), `${dir}/merged`);
        const expected = stacked([...layers.map((_, i) => `${dir}/l${i}`).reverse(), `${dir}/base`], `${dir}/mnt`);
        const got = stacked([`${dir}/merged`, `${dir}/base`], `${dir}/mnt`);
        assert.deepEqual(got, expected);
        assert.deepEqual(view(canary), canaryBefore);
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 40 },
    );
  });

  it("the reported attack: a whiteout and an opaque directory under a non-UTF-8 name next to a link out", async () => {
    const dir = mkdtempSync(join(work, "attack-"));
    build(`${dir}/l0`, { "X\xff": { kind: "dir", opaque: false, children: { subdir: { kind: "dir", opaque: false, children: {} }, victim: { kind: "file", content: "x" } } }, "X\xef\xbf\xbd": { kind: "link", target: `${canary}/dir` } });
    build(`${dir}/l1`, { "X\xff": { kind: "dir", opaque: false, children: { subdir: { kind: "dir", opaque: true, children: {} }, victim: { kind: "whiteout" } } } });
    mkdirSync(`${dir}/merged`);
    await mergeLayers([`${dir}/l0`, `${dir}/l1`], `${dir}/merged`);
    assert.equal(readFileSync(`${canary}/dir/victim`, "utf8"), "canary");
    assert.equal(readFileSync(`${canary}/dir/subdir/x`, "utf8"), "canary");
    assert.ok(lstatSync(Buffer.concat([b(`${dir}/merged/`), b("X\xff/victim")])).isCharacterDevice(), "the whiteout is kept in the merged layer");
  });
});
