/** The environment every command in a sandbox starts from. */
export const EGRESS_PORT = 3128;
export const RUNTIME_DIR = "/.burrow";
export const RUN_DIR = `${RUNTIME_DIR}/run`;
export const RUNTIME_SOCKET = `${RUN_DIR}/runtime.sock`;
export const EGRESS_SOCKET = `${RUN_DIR}/egress.sock`;
export const RUNTIME_CONFIG = `${RUN_DIR}/config.json`;
export const DEFAULT_CWD = "/workspace";

const proxy = `http://127.0.0.1:${EGRESS_PORT}`;

export function baseEnv(sandboxEnv: Record<string, string>): Record<string, string> {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    USER: "root",
    LANG: "C.UTF-8",
    TERM: "xterm-256color",
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    NO_PROXY: "localhost,127.0.0.1,::1",
    no_proxy: "localhost,127.0.0.1,::1",
    ...sandboxEnv,
  };
}

/** Apply `{NAME: value | null}` to an env: null unsets. */
export function applyEnv(env: Record<string, string>, changes: Record<string, string | null> | undefined): Record<string, string> {
  if (!changes) return env;
  const out = { ...env };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
