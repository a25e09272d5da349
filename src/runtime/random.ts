/**
 * Random hex for ids, tokens and temporary names, from Web Crypto, which Node
 * loads at its first use: importing node:crypto cost every runtime start
 * about 8 ms, and only requests need one.
 */
export function randomHex(bytes: number): string {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}
