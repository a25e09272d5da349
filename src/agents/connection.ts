import type { WebSocket } from "ws";

/** One client's WebSocket to an agent instance. */
export class Connection<ConnState = unknown> {
  state: ConnState | undefined;
  readonly: boolean = false;

  constructor(
    /** The client's connection id (`_pk`), stable across its reconnects. */
    readonly id: string,
    private readonly ws: WebSocket,
    readonly url: string,
  ) {}

  send(message: string | object): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  setState(state: ConnState): void {
    this.state = state;
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }
}
