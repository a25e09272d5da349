/**
 * `burrow/openai`: the OpenAI Agents SDK (`@openai/agents`) on Burrow.
 * - `sandboxTools(burrow.sandbox("x"))`: ready-made tools for a plain `Agent`.
 * - `BurrowSandboxClient`: the sandbox provider for a `SandboxAgent`
 *   (`run(agent, input, { sandbox: { client } })`).
 */
export { sandboxTools, type SandboxToolOptions } from "./tools.js";
export { truncate } from "./truncate.js";
export { BurrowSandboxClient, type BurrowSandboxClientOptions, type BurrowSandboxOptions } from "./sandbox/client.js";
export { BurrowSandboxSession, type BurrowSandboxSessionState } from "./sandbox/session.js";
