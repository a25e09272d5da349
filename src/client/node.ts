/**
 * `burrow/client` as Node resolves it (the `node` condition of the package's
 * exports): the same SDK, whose requests go over node:http(s) with kept-alive
 * sockets unless a `fetch` is given. Node's global fetch (undici) costs about
 * a millisecond more per call on loopback, a fifth of an exec. Everything
 * else is `./index.ts`.
 */
import { nodeFetch } from "../lib/node-fetch.js";
import { useDefaultFetch } from "./transport.js";

useDefaultFetch(nodeFetch());

export * from "./index.js";
