import { PROJECT } from "../fixtures/js-project.js";
import { startGitServer, type GitServer } from "./git-server.js";
import { startTestServer, type TestServer } from "./server.js";

/**
 * What the JavaScript demos need: a local git server holding the demo project
 * (`<git.url>/demo.git`) and a Burrow server whose sandboxes reach it and npm's
 * registry (through the egress proxy; the host's CA bundle is passed as extra CAs).
 */
export async function startJsDemo(): Promise<{ srv: TestServer; git: GitServer; repoUrl: string; cleanup(): Promise<void> }> {
  const git = await startGitServer({ user: "u", token: "t" }, undefined, { demo: PROJECT });
  try {
    const srv = await startTestServer({ internet: true, env: { BURROW_EGRESS_ALLOW: `host.burrow.internal:${git.port}` } });
    return {
      srv,
      git,
      repoUrl: `${git.url}/demo.git`,
      cleanup: async () => {
        await srv.cleanup();
        git.close();
      },
    };
  } catch (err) {
    git.close();
    throw err;
  }
}
