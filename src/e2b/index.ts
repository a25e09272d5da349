/**
 * The E2B-compatible API: the real `e2b` and `@e2b/code-interpreter` SDKs,
 * pointed at /e2b, drive Burrow's sandboxes. See README.md.
 */
export { E2bGateway, E2B_ROUTES, PREFIX as E2B_PREFIX } from "./gateway.js";
