import type { EgressConfig } from "../egress/index.js";
import { importUserModule } from "./load-module.js";

/** Load a `--config` module: its default export holds what is code rather than data (egress handlers). */
export async function loadServerConfigModule(modulePath: string, cacheDir?: string): Promise<{ egress: EgressConfig }> {
  const mod = await importUserModule(modulePath, { cacheDir });
  const config = (mod.default ?? {}) as { egress?: EgressConfig };
  if (typeof config !== "object" || config === null) throw new Error(`${modulePath}: the default export must be an object like { egress: { handlers: {...} } }`);
  const egress = config.egress ?? {};
  for (const [name, h] of Object.entries(egress.handlers ?? {}))
    if (typeof h !== "function") throw new Error(`${modulePath}: egress.handlers.${name} must be a function (request, ctx) => Response`);
  for (const [host, name] of Object.entries(egress.byHost ?? {}))
    if (!egress.handlers?.[name]) throw new Error(`${modulePath}: egress.byHost["${host}"] names ${name}, which is not in egress.handlers`);
  if (egress.outbound && !egress.handlers?.[egress.outbound]) throw new Error(`${modulePath}: egress.outbound names ${egress.outbound}, which is not in egress.handlers`);
  return { egress };
}
