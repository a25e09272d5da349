/** The Burrow server: HTTP API, auth and wiring of the domains. */
export { startServer, type RunningServer } from "./app.js";
export { loadConfig, defaultCacheDir, type ServerConfig } from "./config.js";
