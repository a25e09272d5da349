import { isAgentClass } from "../agents/index.js";
import { importUserModule } from "./load-module.js";

/**
 * Load the agent classes a module exports (TypeScript compiled on load).
 * A class is served under the name it is exported as when its own `name`
 * is not one of its export names (a bundler's rename, say `_Ticker`), so
 * `/agents/ticker/...` is where `export class Ticker` lives.
 */
export async function loadAgentClasses(modulePath: string, cacheDir?: string): Promise<Function[]> {
  const names = new Map<Function, string[]>();
  for (const [exported, value] of Object.entries(await importUserModule(modulePath, { cacheDir })))
    if (isAgentClass(value)) names.set(value, [...(names.get(value) ?? []), exported]);
  if (!names.size) throw new Error(`${modulePath} exports no agent classes (classes that extend Agent from burrow/agents)`);
  for (const [cls, exported] of names) {
    const name = exported.find((n) => n !== "default");
    if (name && !exported.includes(cls.name)) Object.defineProperty(cls, "name", { value: name });
  }
  return [...names.keys()];
}
