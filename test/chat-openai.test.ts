import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Agent, run, tool } from "@openai/agents";
import { ScriptedModel, assistantMessage, functionCall, modelResponse } from "@openai/agents/testing";
import { readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import { z } from "zod";
import { openaiAgentChunks } from "../src/agents/index.js";

// An @openai/agents run (scripted model: none runs here) turned into the chunks a ChatAgent streams,
// read back with the `ai` package's own reader, as useAgentChat does.
describe("openaiAgentChunks", () => {
  it("turns a streamed run with a tool call into a UI message with the tool part and the text", async () => {
    const shell = tool({ name: "shell", description: "run a command", parameters: z.object({ command: z.string() }), execute: async ({ command }) => `ran ${command}` });
    const model = new ScriptedModel([modelResponse([functionCall("shell", { command: "echo hi" }, { callId: "c1" })]), modelResponse([assistantMessage("all done")])]);
    const agent = new Agent({ name: "helper", instructions: "help", model, tools: [shell] });
    const chunks: UIMessageChunk[] = [];
    for await (const c of openaiAgentChunks(await run(agent, "say hi", { stream: true }))) chunks.push(c);
    let message: UIMessage | undefined;
    const stream = new ReadableStream<UIMessageChunk>({ start: (c) => (chunks.forEach((x) => c.enqueue(x)), c.close()) });
    for await (const m of readUIMessageStream({ stream })) message = m;
    const toolPart = message!.parts.find((p) => p.type === "tool-shell") as { state: string; input: unknown; output: unknown } | undefined;
    assert.deepEqual({ state: toolPart?.state, input: toolPart?.input, output: toolPart?.output }, { state: "output-available", input: { command: "echo hi" }, output: "ran echo hi" });
    assert.equal(message!.parts.filter((p) => p.type === "text").map((p) => (p as { text: string }).text).join(""), "all done");
  });
});
