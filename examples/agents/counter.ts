import { Agent, callable, type StreamingResponse } from "../../src/agents/index.js";

/** The smallest useful agent: a count that every connected client sees change. */
export class Counter extends Agent<unknown, { count: number }> {
  initialState = { count: 0 };

  /** Add `by` (default 1) and return the new count. */
  @callable()
  increment(by = 1): number {
    const count = this.state.count + by;
    this.setState({ count });
    return count;
  }

  @callable()
  get(): number {
    return this.state.count;
  }

  /** Count up to `to`, streaming each number. */
  @callable({ streaming: true })
  async countTo(stream: StreamingResponse, to: number): Promise<void> {
    for (let i = 1; i <= to; i++) stream.send(i);
    stream.end(to);
  }

  override onRequest(request: Request): Response {
    return Response.json({ name: this.name, count: this.state.count, method: request.method });
  }
}
