import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import type { SandboxInfo } from "../src/contract/index.js";
import { SandboxFeed, type FeedEvent } from "../src/web/index.js";

const info = (id: string, state: SandboxInfo["state"]) => ({ id, state }) as SandboxInfo;
const tick = () => new Promise((r) => setImmediate(r));

// The change feed behind the dashboard's live list (GET /v1/sandbox-events), on its own:
// a nudge from the lifecycle channel makes it look at once; without one, the poll does.
describe("the sandbox change feed", () => {
  it("tells listeners of a change as soon as a nudge comes, once for many nudges", async () => {
    let list = [info("a", "sleeping"), info("b", "running")];
    const nudges = channel(`test:feed:${Math.random()}`);
    const feed = new SandboxFeed(() => list, 60_000, nudges); // the poll never fires in this test
    const seen: FeedEvent[] = [];
    const sub = feed.subscribe((e) => seen.push(e));
    assert.deepEqual(sub.current.map((s) => s.id), ["a", "b"]);

    list = [info("a", "running"), info("b", "running")];
    for (let i = 0; i < 5; i++) nudges.publish({ id: "a", event: "wake" });
    await tick();
    assert.deepEqual(seen, [{ type: "changed", sandbox: info("a", "running") }]);

    list = [info("a", "running")];
    nudges.publish({ id: "b", event: "destroy" });
    await tick();
    assert.deepEqual(seen.at(-1), { type: "removed", id: "b" });
    assert.equal(seen.length, 2, "nothing else changed, nothing else was said");

    // The last listener leaving stops listening to the channel too.
    sub.stop();
    assert.equal(nudges.hasSubscribers, false);
  });

  it("finds changes without a nudge on its next poll", async () => {
    let list = [info("a", "sleeping")];
    const feed = new SandboxFeed(() => list, 20);
    const seen: FeedEvent[] = [];
    const sub = feed.subscribe((e) => seen.push(e));
    list = [info("a", "running")];
    for (let i = 0; i < 100 && !seen.length; i++) await new Promise((r) => setTimeout(r, 10));
    sub.stop();
    assert.deepEqual(seen, [{ type: "changed", sandbox: info("a", "running") }]);
  });
});
