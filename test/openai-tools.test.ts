import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { run, setTracingDisabled } from "@openai/agents";
import { codingAgent } from "../examples/openai-sandbox-agent.js";
import { ScriptedModel, assistantMessage, functionCall, modelResponder } from "@openai/agents/testing";
import { sandboxTools } from "../src/openai/index.js";
import type { Sandbox } from "../src/client/index.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

/** What the tool returned to the model for the most recent call. */
const lastToolResult = (input: unknown): string => {
  const items = (Array.isArray(input) ? input : []) as { type?: string; output?: { text?: string } | string }[];
  const r = [...items].reverse().find((i) => i.type === "function_call_result");
  return typeof r?.output === "string" ? r.output : (r?.output?.text ?? "");
};

describe("OpenAI Agents SDK tools backed by a sandbox (scripted model, real tools)", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    setTracingDisabled(true);
    srv = await startTestServer();
    sbx = srv.burrow.sandbox(name("oa"));
  });
  after(() => srv.cleanup());

  it("writes, runs, edits, lists and reads through the tools, and the model sees the results", async () => {
    const seen: string[] = [];
    const step = (n: number, tool: string, args: Record<string, unknown>) =>
      modelResponder((call) => {
        if (n > 0) seen.push(lastToolResult(call.request.input));
        return [functionCall(tool, args, { callId: `c${n}` })];
      });
    const model = new ScriptedModel([
      step(0, "write_file", { path: "/workspace/app/fizz.py", content: "for i in range(1, 4):\n    print('fizz' if i % 3 == 0 else i)\n" }),
      step(1, "shell", { command: "python3 fizz.py", cwd: "/workspace/app", timeoutMs: null }),
      step(2, "edit_file", { path: "/workspace/app/fizz.py", old_text: "'fizz'", new_text: "'FIZZ'" }),
      step(3, "shell", { command: "python3 fizz.py; exit 3", cwd: "/workspace/app", timeoutMs: null }),
      step(4, "list_dir", { path: "/workspace/app", recursive: null }),
      step(5, "read_file", { path: "/workspace/app/missing.txt" }),
      step(6, "edit_file", { path: "/workspace/app/fizz.py", old_text: "nothing like this", new_text: "x" }),
      step(7, "run_code", { language: "python", code: "total = sum(range(10))\ntotal" }),
      step(8, "run_code", { language: "python", code: "print('again'); total * 2" }),
      modelResponder((call) => {
        seen.push(lastToolResult(call.request.input));
        return [assistantMessage("done")];
      }),
    ]);
    // The example's own agent, with the scripted model instead of a real one.
    const agent = codingAgent(sbx, model);
    const result = await run(agent, "write fizzbuzz", { maxTurns: 20 });
    assert.equal(result.finalOutput, "done");
    assert.match(seen[0]!, /^wrote \d+ bytes to \/workspace\/app\/fizz.py$/);
    assert.equal(seen[1], "exit code 0\nstdout:\n1\n2\nfizz\n");
    assert.equal(seen[2], "edited /workspace/app/fizz.py");
    assert.equal(seen[3], "exit code 3\nstdout:\n1\n2\nFIZZ\n");
    assert.match(seen[4]!, /- +\d+ \/workspace\/app\/fizz.py/);
    assert.match(seen[5]!, /^error FILE_NOT_FOUND: /);
    assert.match(seen[6]!, /not found/);
    assert.equal(seen[7], "result: 45");
    assert.equal(seen[8], "stdout:\nagain\n\nresult: 90", "the context kept its variables");
    assert.equal((await sbx.readFile("/workspace/app/fizz.py")).content.includes("'FIZZ'"), true);
  });

  it("cuts long output and says how much was cut", async () => {
    const [shell] = sandboxTools(sbx, { maxOutputChars: 1000 });
    const out = (await (shell as unknown as { invoke: (ctx: unknown, input: string) => Promise<string> }).invoke({}, JSON.stringify({ command: "seq 1 100000", cwd: null, timeoutMs: null }))) as string;
    assert.ok(out.length < 1200);
    assert.match(out, /characters cut/);
    assert.match(out, /100000\n$/, "the tail is kept");
  });
});
