/**
 * The version of what the server and a sandbox's runtime say to each other
 * over the runtime socket. A runtime reports it in `GET /health`; after a
 * server upgrade (live restore), a sandbox keeps the runtime it started with,
 * so the server checks this before it re-attaches one. Raise it when a change
 * breaks older runtimes or older servers; a runtime that reports none speaks 1.
 */
export const RUNTIME_PROTOCOL = 1;

/** The oldest runtime protocol this server still speaks. */
export const RUNTIME_PROTOCOL_MIN = 1;
