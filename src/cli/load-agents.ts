import { isAgentClass } from "../agents/index.js";
import { importUserModule } from "./load-module.js";

/** Load the agent classes a module exports (TypeScript compiled on load). */
export async function loadAgentClasses(modulePath: string): Promise<Function[]> {
  const classes = Object.values(await importUserModule(modulePath)).filter(isAgentClass);
  if (!classes.length) throw new Error(`${modulePath} exports no agent classes (classes that extend Agent from burrow/agents)`);
  return classes;
}
