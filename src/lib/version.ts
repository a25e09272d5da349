/** Burrow's version, as package.json has it (test/web-server.test.ts keeps the two the same). */
export const VERSION = "0.1.0";
