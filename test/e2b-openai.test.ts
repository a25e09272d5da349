import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { run, setTracingDisabled } from "@openai/agents";
import { filesystem, SandboxAgent, shell } from "@openai/agents/sandbox";
import { E2BSandboxClient } from "@openai/agents-extensions/sandbox/e2b";
import { calcManifest, fixCalcModel } from "./fixtures/openai-sandbox-agent.js";
import { e2bServer as server } from "./helpers/e2b.js";
import type { TestServer } from "./helpers/server.js";

describe("OpenAI Agents SDK: the unmodified E2BSandboxClient runs a SandboxAgent on Burrow", () => {
  let srv: TestServer;
  before(async () => {
    setTracingDisabled(true);
    srv = await server();
  });

  it("runs exec_command, a file edit and a PTY through write_stdin; the sandbox is a Burrow sandbox", async () => {
    const client = new E2BSandboxClient({ template: "base" });
    const manifest = calcManifest();
    const session = await client.create({ manifest });
    const id = session.state.sandboxId;
    assert.equal((await srv.burrow.sandbox(id).info()).labels["e2b.template"], "base");
    const seen: string[] = [];
    const model = fixCalcModel(seen);
    const agent = new SandboxAgent({ name: "coder", instructions: "Make the tests pass.", model, capabilities: [shell(), filesystem()] });
    const result = await run(agent, "Make the tests pass", { sandbox: { session }, maxTurns: 20 });
    assert.equal(result.finalOutput, "tests pass");
    const outputOf = (answer: string) => answer.split("\nOutput:\n")[1] ?? "";
    assert.match(outputOf(seen[0]!), /^calc\nFAILED \(failures=1\)/, seen[0]);
    assert.match(seen[1]!, /completed/);
    assert.equal(outputOf(seen[2]!).trim(), "OK", seen[2]);
    assert.match(seen[3]!, /Process running with session ID \d+/);
    assert.match(outputOf(seen[4]!), /42/, seen[4]);
    await session.close();
  });
});
