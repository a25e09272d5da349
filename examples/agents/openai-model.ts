import { setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled } from "@openai/agents";
import OpenAI from "openai";

let configured = false;

/**
 * Point the OpenAI Agents SDK at any OpenAI-compatible endpoint:
 * OPENAI_BASE_URL (chat completions), OPENAI_API_KEY, OPENAI_MODEL. Tracing
 * export is off unless a real OpenAI key is used without a custom endpoint.
 */
export function openAIModelName(): string {
  if (!configured) {
    configured = true;
    if (process.env.OPENAI_BASE_URL) {
      setDefaultOpenAIClient(new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY ?? "none" }));
      setOpenAIAPI("chat_completions");
    }
    if (!process.env.OPENAI_API_KEY || process.env.OPENAI_BASE_URL) setTracingDisabled(true);
  }
  return process.env.OPENAI_MODEL ?? "gpt-4.1-mini";
}
