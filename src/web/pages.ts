import type { ServerResponse } from "node:http";
import type { Assets } from "./assets.js";

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Headers every page carries: a strict CSP (scripts and connections only from
 * this origin; inline styles are allowed because xterm.js writes its theme
 * into a style element), no framing, no referrer to other origins (with
 * no-referrer at all, Chromium sends `Origin: null` on our own forms), and no
 * caching of pages that hold a CSRF token.
 */
export function pageHeaders(host: string): Record<string, string> {
  // Only a plain host[:port] goes into the policy; anything odd falls back to 'self' alone.
  const ws = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(host) ? ` ws://${host} wss://${host}` : "";
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'${ws}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
  };
}

function head(assets: Assets, extra = ""): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Burrow</title><link rel="icon" href="${assets.url("favicon.svg")}" type="image/svg+xml">
<link rel="stylesheet" href="${assets.url("app.css")}">${extra}</head>`;
}

/** The single-page app's shell; the CSRF token rides in a meta tag only this origin can read. */
export function sendApp(res: ServerResponse, host: string, assets: Assets, csrf: string): void {
  res.writeHead(200, pageHeaders(host));
  res.end(`${head(assets, `\n<meta name="burrow-csrf" content="${escape(csrf)}">\n<script type="module" src="${assets.url("app.js")}"></script>`)}
<body><div id="app"></div></body></html>`);
}

/** The sign-in form: paste the token. `next` brings the person back where they were going. */
export function sendLogin(res: ServerResponse, host: string, assets: Assets, opts: { status?: number; message?: string; next?: string } = {}): void {
  res.writeHead(opts.status ?? 200, pageHeaders(host));
  const msg = opts.message ? `<p class="login-error" role="alert">${escape(opts.message)}</p>` : "";
  res.end(`${head(assets)}
<body class="login-body"><main class="login-card">
<div class="brand"><img src="${assets.url("favicon.svg")}" alt="" width="28" height="28"><span>Burrow</span></div>
<h1>Sign in</h1>
<p class="muted">Paste the server's token. <code>npm start</code> prints it with a sign-in link; it is also in <code>&lt;data&gt;/token</code>.</p>
${msg}<form method="post" action="/login">
<input type="hidden" name="next" value="${escape(opts.next ?? "/")}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus spellcheck="false">
<button type="submit" class="primary">Sign in</button>
</form></main></body></html>`);
}
