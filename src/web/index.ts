/** Burrow in the browser: sign-in, sessions, the dashboard page, the sandbox change feed and terminal links. */
export { WebConsole, type WebOptions } from "./console.js";
export { SandboxFeed, type FeedEvent } from "./feed.js";
export { LINK_TTL } from "./terminal-links.js";
export { cookieName, withoutSessionCookies } from "./cookies.js";
