/** `ChatRoom` -> `chat-room`, `MY_AGENT` -> `my-agent`, `my_agent` -> `my-agent`: how class names appear in URLs. */
export function kebab(name: string): string {
  if (name === name.toUpperCase()) return name.toLowerCase().replace(/_/g, "-");
  return name
    .replace(/_/g, "-")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();
}
