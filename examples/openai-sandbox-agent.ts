/**
 * An OpenAI Agents SDK agent that works in a Burrow sandbox through the
 * ready-made tools of `burrow/openai`.
 *
 *   OPENAI_API_KEY=... [OPENAI_BASE_URL=...] [OPENAI_MODEL=...] BURROW_TOKEN=... \
 *     node --import tsx examples/openai-sandbox-agent.ts "Write fizzbuzz in Python and run it"
 */
import { Agent, run, type Model } from "@openai/agents";
import { Burrow, type Sandbox } from "../src/client/index.js";
import { sandboxTools } from "../src/openai/index.js";
import { openAIModelName } from "./agents/openai-model.js";

/** The agent: any sandbox, any model (the tests hand it a scripted one). */
export function codingAgent(sbx: Sandbox, model: Model | string = openAIModelName()): Agent {
  return new Agent({
    name: "coder",
    instructions: "You work in a Linux sandbox. Use the tools to write files and run commands; check your work by running it.",
    tools: sandboxTools(sbx),
    model,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const task = process.argv.slice(2).join(" ") || "Print the Linux kernel version and the Python version.";
  const result = await run(codingAgent(new Burrow().sandbox(process.env.BURROW_SANDBOX ?? "openai-example")), task, { maxTurns: 20 });
  console.log(result.finalOutput);
}
