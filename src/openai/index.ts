/**
 * `burrow/openai`: tools for the OpenAI Agents SDK (`@openai/agents`) backed
 * by a Burrow sandbox. `new Agent({ tools: sandboxTools(burrow.sandbox("x")) })`.
 */
export { sandboxTools, type SandboxToolOptions } from "./tools.js";
export { truncate } from "./truncate.js";
