/**
 * An example `burrow serve --config examples/burrow.config.ts`: egress
 * handlers that add credentials outside the sandbox. Secrets come from the
 * server's environment; sandboxes pick handlers by name with
 * `sbx.setEgress({ byHost: { "git.example.com": "git" } })`.
 */
import { bearerToken, defineConfig, gitCredentials, s3Resign } from "../src/egress/public.js";

const env = (name: string) => process.env[name] ?? "";

export default defineConfig({
  egress: {
    handlers: {
      git: gitCredentials({ token: env("GIT_TOKEN") }),
      api: bearerToken({ token: () => env("INTERNAL_API_TOKEN") }),
      s3: s3Resign({ accessKeyId: env("AWS_ACCESS_KEY_ID"), secretAccessKey: env("AWS_SECRET_ACCESS_KEY"), region: env("AWS_REGION") || "us-east-1" }),
      // A handler can also answer by itself, e.g. to keep a sandbox off an endpoint.
      noUploads: async (request, ctx) => (request.method === "GET" ? ctx.fetch(request) : new Response("read-only here\n", { status: 403 })),
    },
    // Server-wide defaults, under each sandbox's own settings.
    deniedHosts: ["169.254.169.254"],
    maxConnections: 128,
  },
});
