/** The Cloudflare sandbox bridge (`/cf`): routes for the unmodified CloudflareSandboxClient, and its PTY WebSocket. */
export { cfBridgeRoutes } from "./routes.js";
export { CfPtyGateway } from "./pty.js";
