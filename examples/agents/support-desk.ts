import { Agent as ModelAgent, run, RunState, setTracingDisabled, tool, type Model } from "@openai/agents";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { Agent, callable } from "../../src/agents/index.js";
import { openAIModelName } from "./openai-model.js";

export interface PendingApproval {
  runId: string;
  callId: string;
  tool: string;
  arguments: string;
}

interface DeskState {
  pending: PendingApproval[];
  answers: { runId: string; output: string }[];
}

type RunOutcome = { runId: string; status: "paused"; pending: PendingApproval[] } | { runId: string; status: "done"; output: string };

/**
 * Human in the loop: an OpenAI Agents SDK run inside a Burrow agent. Refunds
 * need a person's approval: the run pauses, its serialised RunState is saved
 * in this agent's SQLite, pending approvals are listed over HTTP and RPC (and
 * in the synced state), and approve or reject resumes the run, even after a
 * server restart in between.
 */
export class SupportDesk extends Agent<unknown, DeskState> {
  initialState: DeskState = { pending: [], answers: [] };

  override onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, state TEXT, status TEXT NOT NULL, output TEXT)`;
    this.sql`CREATE TABLE IF NOT EXISTS refunds (order_id TEXT, amount REAL, at TEXT)`;
  }

  /** The model for a run; "start" begins one, "resume" continues after a decision. Tests script it. */
  protected model(_phase: "start" | "resume"): Model | string {
    return openAIModelName();
  }

  private desk(phase: "start" | "resume") {
    if (!process.env.OPENAI_API_KEY) setTracingDisabled(true);
    const refund = tool({
      name: "refund",
      description: "Refund an amount on an order. A person approves every refund.",
      parameters: z.object({ orderId: z.string(), amount: z.number() }),
      needsApproval: true,
      execute: async ({ orderId, amount }) => {
        this.sql`INSERT INTO refunds (order_id, amount, at) VALUES (${orderId}, ${amount}, ${new Date().toISOString()})`;
        return `Refunded ${amount} on order ${orderId}.`;
      },
    });
    const lookup = tool({
      name: "lookup_order",
      description: "Look up an order's status.",
      parameters: z.object({ orderId: z.string() }),
      execute: async ({ orderId }) => `Order ${orderId} was delivered damaged.`,
    });
    return new ModelAgent({ name: "support-desk", instructions: "You help customers. Refund damaged orders with the refund tool.", tools: [lookup, refund], model: this.model(phase) });
  }

  /** Ask the desk something; answers at once or pauses for approvals. */
  @callable()
  async ask(input: string): Promise<RunOutcome> {
    const runId = `run-${randomBytes(4).toString("hex")}`;
    return this.settle(runId, await run(this.desk("start"), input));
  }

  @callable()
  pending(): PendingApproval[] {
    return this.state.pending;
  }

  /** Approve or reject one tool call of a paused run, then let the run go on. */
  @callable()
  async decide(runId: string, callId: string, approve: boolean): Promise<RunOutcome> {
    const row = this.sql<{ state: string | null; status: string }>`SELECT state, status FROM runs WHERE id = ${runId}`[0];
    if (!row || row.status !== "paused" || !row.state) throw new Error(`run ${runId} is not waiting for a decision`);
    const desk = this.desk("resume");
    const state = await RunState.fromString(desk, row.state);
    const item = state.getInterruptions().find((i) => (i.rawItem as { callId?: string }).callId === callId);
    if (!item) throw new Error(`run ${runId} has no pending call ${callId}`);
    if (approve) state.approve(item);
    else state.reject(item);
    this.setState({ ...this.state, pending: this.state.pending.filter((p) => !(p.runId === runId && p.callId === callId)) });
    // Other calls of the same run still wait for a person: keep the run paused with this decision recorded.
    const waiting = this.state.pending.filter((p) => p.runId === runId);
    if (waiting.length) {
      this.sql`UPDATE runs SET state = ${state.toString()} WHERE id = ${runId}`;
      return { runId, status: "paused", pending: waiting };
    }
    return this.settle(runId, await run(desk, state));
  }

  private settle(runId: string, result: { interruptions: { rawItem: unknown }[]; state: { toString(): string }; finalOutput?: unknown }): RunOutcome {
    if (result.interruptions.length) {
      const pending = result.interruptions.map((i) => {
        const raw = i.rawItem as { callId: string; name: string; arguments: string };
        return { runId, callId: raw.callId, tool: raw.name, arguments: raw.arguments };
      });
      this.sql`INSERT OR REPLACE INTO runs (id, state, status) VALUES (${runId}, ${result.state.toString()}, 'paused')`;
      this.setState({ ...this.state, pending: [...this.state.pending, ...pending] });
      return { runId, status: "paused", pending };
    }
    const output = String(result.finalOutput ?? "");
    this.sql`INSERT OR REPLACE INTO runs (id, state, status, output) VALUES (${runId}, NULL, 'done', ${output})`;
    this.setState({ ...this.state, answers: [...this.state.answers, { runId, output }] });
    return { runId, status: "done", output };
  }

  @callable()
  refunds(): { order_id: string; amount: number }[] {
    return this.sql`SELECT order_id, amount FROM refunds`;
  }

  /** GET .../pending lists approvals; POST .../decide {runId, callId, approve} decides one. */
  override async onRequest(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method === "GET" && path.endsWith("/pending")) return Response.json(this.pending());
    if (request.method === "POST" && path.endsWith("/decide")) {
      const b = (await request.json()) as { runId: string; callId: string; approve: boolean };
      try {
        return Response.json(await this.decide(b.runId, b.callId, b.approve === true));
      } catch (err) {
        return Response.json({ error: (err as Error).message }, { status: 409 });
      }
    }
    if (request.method === "POST" && path.endsWith("/ask")) return Response.json(await this.ask(await request.text()));
    return new Response("GET pending, POST decide or POST ask", { status: 404 });
  }
}
