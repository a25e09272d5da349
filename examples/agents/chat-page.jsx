// The example chat's page (GET /agents/sandbox-chat/<name>): React with the unmodified
// useAgentChat of @cloudflare/ai-chat over useAgent from agents/react. scripts/build.mjs
// bundles it into dist/examples/chat-page.js, which the agent's own onRequest serves.
import { Suspense, useState } from "react";
import { createRoot } from "react-dom/client";
import { useAgent } from "agents/react";
import { useAgentChat } from "@cloudflare/ai-chat/react";

const name = decodeURIComponent(location.pathname.split("/")[3]);

function ToolCall({ part, onDecide }) {
  const tool = part.type === "dynamic-tool" ? part.toolName : part.type.slice("tool-".length);
  const input = part.input ?? {};
  const shown = tool === "shell" ? `$ ${input.command ?? ""}` : `${tool} ${JSON.stringify(input)}`;
  return (
    <div className="tool" data-tool={tool} data-state={part.state}>
      <code>{shown}</code>
      {part.state === "approval-requested" && (
        <div>
          <button className="approve" onClick={() => onDecide(part.approval.id, true)}>Run it</button>{" "}
          <button className="reject" onClick={() => onDecide(part.approval.id, false)}>Don't</button>
        </div>
      )}
      {part.state === "output-available" && <pre className="output">{typeof part.output === "string" ? part.output : JSON.stringify(part.output, null, 2)}</pre>}
      {part.state === "output-error" && <pre className="output error">{part.errorText}</pre>}
      {part.state === "output-denied" && <p className="output">not run</p>}
    </div>
  );
}

function Message({ message, onDecide }) {
  return (
    <li className={`message ${message.role}`} data-id={message.id}>
      {message.parts.map((part, i) => {
        if (part.type === "text") return <div key={i} className="text">{part.text}</div>;
        if (part.type.startsWith("tool-") || part.type === "dynamic-tool") return <ToolCall key={i} part={part} onDecide={onDecide} />;
        return null;
      })}
    </li>
  );
}

function Chat() {
  const [connected, setConnected] = useState(false);
  const [text, setText] = useState("");
  const agent = useAgent({ agent: "sandbox-chat", name, onIdentity: () => setConnected(true), onClose: () => setConnected(false) });
  const chat = useAgentChat({ agent });
  const { messages, sendMessage, addToolApprovalResponse, clearHistory, stop, error } = chat;
  // isStreaming also covers answers the server streams on its own (a continuation after an approval, another tab's question).
  const status = chat.isStreaming ? "streaming" : chat.status;
  const busy = status === "submitted" || status === "streaming";
  const send = (e) => {
    e.preventDefault();
    if (!text.trim()) return;
    void sendMessage({ text });
    setText("");
  };
  return (
    <main data-status={status} data-connected={connected}>
      <h1>
        Sandbox chat <small>{name}: a chat agent with a Burrow sandbox of its own</small>
      </h1>
      {messages.length === 0 && <p id="empty">Ask it something. Try: run uname -a</p>}
      <ul id="messages" style={{ listStyle: "none", padding: 0 }}>
        {messages.map((m) => (
          <Message key={m.id} message={m} onDecide={(id, approved) => addToolApprovalResponse({ id, approved })} />
        ))}
      </ul>
      {error && <p className="error">{error.message}</p>}
      <form onSubmit={send}>
        <div>
          <input name="text" value={text} onChange={(e) => setText(e.target.value)} placeholder="Message" autoComplete="off" />
          {busy ? <button type="button" id="stop" onClick={() => stop()}>Stop</button> : <button type="submit" id="send">Send</button>}
          <button type="button" id="clear" onClick={() => clearHistory()}>Clear</button>
        </div>
        <div id="status">{connected ? status : "connecting..."}</div>
      </form>
    </main>
  );
}

createRoot(document.getElementById("root")).render(
  <Suspense fallback={<p>loading...</p>}>
    <Chat />
  </Suspense>,
);
