/**
 * Accounts the default image has from the start. E2B's SDKs run everything
 * as `user` (home /home/user, bash), as its base template has it; an image
 * that already has the account spares each E2B sandbox making it at create
 * (about 11 ms, mostly four copy-ups of /etc files). Debian's own `useradd`
 * makes it inside the new tree, as mmdebstrap's customize hooks run, so the
 * entries, home and skeleton files are exactly what Debian writes.
 */
export const IMAGE_ACCOUNTS = ["user"] as const;

/** mmdebstrap arguments that make each account in the tree being built ("$1" is its root). */
export function accountHooks(): string[] {
  return IMAGE_ACCOUNTS.map((name) => `--customize-hook=chroot "$1" useradd --create-home --shell /bin/bash ${name}`);
}
