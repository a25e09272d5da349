import { AgentInstancesQuery, BurrowError } from "../../contract/index.js";
import { sendJson } from "../../lib/http-json.js";
import type { AgentHost } from "../../agents/index.js";
import { callableMethods } from "../../agents/catalog.js";
import type { Router } from "../router.js";
import { parseQuery } from "./common.js";

/**
 * What the server's agents are, for pages and programs: the classes served
 * with their callable methods, a class's instances, one instance's schedules.
 * The agents themselves are reached at `/agents/<class>/<name>`.
 */
export function agentRoutes(r: Router, agents: () => AgentHost | undefined): void {
  const classOf = (name: string): AgentHost => {
    const host = agents();
    const k = name.toLowerCase();
    if (!host?.classFor(k)) throw new BurrowError("AGENT_NOT_FOUND", `no agent class "${name}"; this server has: ${host?.classNames.join(", ") || "none (start it with --agents)"}`);
    return host;
  };
  r.on("GET", "/v1/agents", (ctx) => {
    const host = agents();
    const classes = (host?.classNames ?? []).map((name) => ({ name, path: `/agents/${name}/<name>`, live: host!.liveOf(name).size, methods: callableMethods(host!.classFor(name)!) }));
    sendJson(ctx.res, 200, { classes });
  });
  r.on("GET", "/v1/agents/:class/instances", async (ctx) => {
    const cls = ctx.params.class!.toLowerCase();
    const host = classOf(cls);
    const { limit } = parseQuery(ctx, AgentInstancesQuery);
    sendJson(ctx.res, 200, await host.instancesOf(cls, limit ?? 200));
  });
  r.on("GET", "/v1/agents/:class/instances/:name", async (ctx) => {
    const cls = ctx.params.class!.toLowerCase();
    const name = ctx.params.name!;
    const host = classOf(cls);
    // Never creates one: a name that was never started is unknown.
    if (!host.exists(cls, name)) throw new BurrowError("AGENT_NOT_FOUND", `no instance "${name}" of agent class "${cls}" was ever started; connect to /agents/${cls}/<name> to start one`);
    const schedules = await host.schedulesOf(cls, name);
    const live = host.liveOf(cls).get(name);
    sendJson(ctx.res, 200, { class: cls, name, live: live !== undefined, connections: live?.connections ?? 0, lastActiveAt: live ? new Date(live.lastActive).toISOString() : null, schedules });
  });
}
