import type { Agent } from "./agent.js";
import { currentHost } from "./host.js";
import { kebab } from "./kebab.js";

/** Methods of an agent as async calls. */
export type AgentStub<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/**
 * A typed stub for the instance of `cls` named `name` (woken if needed). Calls
 * run inside that instance, in its event order; any method may be called.
 */
export async function getAgentByName<T extends Agent<any, any>>(cls: new (name: string, env: never) => T, name: string): Promise<AgentStub<T>> {
  const host = currentHost();
  const k = kebab(cls.name);
  if (!host.classFor(k)) throw new Error(`agent class ${cls.name} is not served by this host`);
  return new Proxy({} as AgentStub<T>, {
    get(_t, method) {
      if (typeof method !== "string" || method === "then") return undefined;
      return (...args: unknown[]) => host.instance(k, name).call(method, args);
    },
  });
}
