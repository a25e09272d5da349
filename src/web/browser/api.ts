/** The page's only way to the server: the public HTTP API, signed in by the session cookie. */

const csrf = (): string => document.querySelector<HTMLMetaElement>('meta[name="burrow-csrf"]')?.content ?? "";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function failure(r: Response): Promise<ApiError> {
  try {
    const body = (await r.json()) as { code?: string; message?: string };
    return new ApiError(r.status, body.code ?? `HTTP_${r.status}`, body.message ?? r.statusText);
  } catch {
    return new ApiError(r.status, `HTTP_${r.status}`, r.statusText);
  }
}

/** A request to the API; state-changing ones carry the page's CSRF token. */
export async function call(method: string, path: string, body?: unknown, raw?: BodyInit): Promise<Response> {
  const headers: Record<string, string> = {};
  if (method !== "GET") headers["x-burrow-csrf"] = csrf();
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(path, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)), credentials: "same-origin" });
  if (r.status === 401) {
    // The session ended (signed out elsewhere, expired, token changed): back to the sign-in form.
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
  }
  if (!r.ok) throw await failure(r);
  return r;
}

export async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await call(method, path, body)).json() as Promise<T>;
}

export const enc = encodeURIComponent;
export const sbx = (id: string) => `/v1/sandboxes/${enc(id)}`;

// The API's own shapes (zod schemas in src/contract; type-only, so nothing of zod reaches the page).
export type { FileEntry, ProcessInfo, SandboxInfo, SnapshotInfo } from "../../contract/index.js";

export interface PortInfo {
  port: number;
  name?: string;
  url: string;
}

export function signOut(): void {
  const form = document.createElement("form");
  form.method = "post";
  form.action = "/logout";
  const input = document.createElement("input");
  input.type = "hidden";
  input.name = "csrf";
  input.value = csrf();
  form.append(input);
  document.body.append(form);
  form.submit();
}
