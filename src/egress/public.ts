/**
 * `burrow/egress`: what a server's `--config` module uses to write egress
 * handlers, and handlers ready to use.
 *
 *   import { gitCredentials, s3Resign } from "burrow/egress";
 *   export default { egress: { handlers: { git: gitCredentials({ token: process.env.GIT_TOKEN! }) },
 *                              byHost: { "git.internal.example": "git" } } };
 */
export type { EgressConfig, EgressContext, EgressHandler } from "./handlers.js";
export { bearerToken, gitCredentials, s3Resign } from "./ready-handlers.js";

/** The shape of a `--config` module's default export. */
export interface BurrowConfig {
  egress?: import("./handlers.js").EgressConfig;
}

/** Identity helper that gives a config module its types. */
export const defineConfig = (config: BurrowConfig): BurrowConfig => config;
