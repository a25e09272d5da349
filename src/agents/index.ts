/**
 * `burrow/agents`: durable agents. Subclass `Agent`, mark client-callable
 * methods with `@callable()`, and serve the classes with
 * `burrow serve --agents <module>`. The WebSocket protocol is the one
 * Cloudflare's `agents/client` speaks, so its AgentClient connects unchanged.
 */
export { Agent, type ConnectionContext, type StateSource } from "./agent.js";
export { callable, type CallableOptions } from "./callable.js";
export { Connection, type BinaryType, type ConnectionMessageEvent, type ConnectionCloseEvent, type ConnectionErrorEvent } from "./connection.js";
export { StreamingResponse } from "./rpc.js";
export { getAgentByName, type AgentStub } from "./stub.js";
export { AgentHost, isAgentClass, type AgentHostOptions } from "./host.js";
export type { Schedule, ScheduleWhen } from "./schedules.js";
export { ChatAgent, type ChatMessageOptions } from "./chat/chat-agent.js";
export type { ChatResponse } from "./chat/chunks.js";
export { McpAgent } from "./mcp/mcp-agent.js";
export { createMcpHandler } from "./mcp/handler.js";
export { openaiAgentChunks } from "./chat/openai.js";
