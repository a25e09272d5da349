// The Counter's own page (GET /agents/counter/<name> from a browser): plain
// TypeScript over the unmodified AgentClient of `agents/client`. It shows the
// count as the agent's state changes, whoever changed it, and calls the agent's
// callable methods. scripts/build.mjs bundles it into dist/examples/counter-page.js,
// which the agent's own onRequest serves.
import { AgentClient } from "agents/client";

const name = decodeURIComponent(location.pathname.split("/")[3] ?? "");
const el = (id: string) => document.getElementById(id) as HTMLElement;
const count = el("count");
const status = el("status");
const changes = el("changes");
const streamed = el("streamed");

function note(text: string): void {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  changes.prepend(li);
  while (changes.children.length > 20) changes.lastElementChild?.remove();
}

const client = new AgentClient<{ count: number }>({
  agent: "counter",
  name,
  host: location.host,
  protocol: location.protocol === "https:" ? "wss" : "ws",
  onIdentity: (instance) => {
    status.textContent = `connected to counter/${instance}`;
    status.dataset.state = "connected";
  },
  onStateUpdate: (state, source) => {
    count.textContent = String(state.count);
    note(`count is ${state.count} (${source === "server" ? "from the agent" : "from this page"})`);
  },
});
client.addEventListener("close", () => {
  status.textContent = "disconnected: reconnecting…";
  status.dataset.state = "closed";
});

/** A button that calls the agent and shows a failure instead of swallowing it. */
function button(id: string, run: () => Promise<unknown>): void {
  const b = el(id) as HTMLButtonElement;
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await run();
    } catch (err) {
      note(`failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      b.disabled = false;
    }
  });
}

button("increment", () => client.call("increment", [1]));
button("count-to", () => {
  streamed.textContent = "";
  return client.call("countTo", [5], {
    stream: {
      onChunk: (n) => (streamed.textContent += `${String(n)} `),
      onDone: (last) => (streamed.textContent += `(done at ${String(last)})`),
    },
  });
});
