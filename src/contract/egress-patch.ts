import { z } from "zod";
import { EgressPolicyBody } from "./egress.js";

const byHost = EgressPolicyBody.shape.byHost.unwrap();

/**
 * `PATCH /v1/sandboxes/:id/egress`: the fields given replace the sandbox's
 * own, the others stay; `byHost` entries merge one by one (null removes one).
 * `PUT` takes `EgressPolicyBody` and replaces the whole policy.
 */
export const EgressPatchBody = EgressPolicyBody.extend({
  byHost: z.record(byHost.keyType, byHost.valueType.nullable()).optional(),
}).strict();
export type EgressPatchBody = z.infer<typeof EgressPatchBody>;
