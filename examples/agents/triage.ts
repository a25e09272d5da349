import { Agent as ModelAgent, run, tool, type Model } from "@openai/agents";
import { z } from "zod";
import { Agent, callable, getAgentByName } from "../../src/agents/index.js";
import { openAIModelName } from "./openai-model.js";

/**
 * A specialist: its own Burrow agent with its own memory (the questions it
 * was asked, in its SQLite), answering with its own model run.
 */
export class Specialist extends Agent {
  /** What this specialist knows about; the instance name says which one it is ("billing", "tech"). */
  protected instructions(): string {
    return `You are the ${this.name} specialist. Answer briefly.`;
  }

  protected model(): Model | string {
    return openAIModelName();
  }

  override onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS asked (question TEXT, at TEXT)`;
  }

  /** Answer a question (called by the triage agent through a stub, or by clients). */
  @callable()
  async answer(question: string): Promise<{ specialist: string; answer: string; questionsSoFar: number }> {
    this.sql`INSERT INTO asked (question, at) VALUES (${question}, ${new Date().toISOString()})`;
    const me = new ModelAgent({ name: `${this.name}-specialist`, instructions: this.instructions(), model: this.model() });
    const result = await run(me, question);
    const n = this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM asked`[0]!.n;
    return { specialist: this.name, answer: String(result.finalOutput ?? ""), questionsSoFar: n };
  }

  @callable()
  history(): string[] {
    return this.sql<{ question: string }>`SELECT question FROM asked`.map((r) => r.question);
  }
}

/**
 * Triage: decides which specialist a question belongs to and hands it over.
 * Each specialist is a separate Burrow agent (`specialist/billing`,
 * `specialist/tech`) with its own memory, called through a server-side stub.
 */
export class Triage extends Agent {
  protected model(): Model | string {
    return openAIModelName();
  }

  /** The specialist class to hand over to (tests substitute a scripted one). */
  protected specialistClass(): typeof Specialist {
    return Specialist;
  }

  @callable()
  async route(question: string): Promise<string> {
    const handOff = (name: "billing" | "tech") =>
      tool({
        name: `ask_${name}`,
        description: `Hand the question to the ${name} specialist and get its answer.`,
        parameters: z.object({ question: z.string() }),
        execute: async ({ question: q }) => {
          const specialist = await getAgentByName(this.specialistClass(), name);
          return JSON.stringify(await specialist.answer(q));
        },
      });
    const triage = new ModelAgent({
      name: "triage",
      instructions: "Send billing questions to ask_billing and technical ones to ask_tech, then relay the answer.",
      tools: [handOff("billing"), handOff("tech")],
      model: this.model(),
    });
    return String((await run(triage, question)).finalOutput ?? "");
  }
}
